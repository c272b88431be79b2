"""The graph data models: what they refuse, with messages that name the field, and where
their JSON Schema appears (``graphnode schema``, ``/openapi.json``)."""

from __future__ import annotations

import copy

import pytest

from graphnode.contract.graph_model import (
    DOCUMENT_MODELS,
    GraphDataError,
    GraphDocument,
    check_document,
    graph_json_schemas,
)
from tests.unit import graph_documents
from tests.unit.test_api import app, auth, client, sent, settings  # noqa: F401


def broken(change) -> dict:
    graph = copy.deepcopy(graph_documents.graph(("a", "b", "c")))
    change(graph)
    return graph


@pytest.mark.parametrize(("change", "message"), [
    (lambda g: g["nodes"][0].update(clusterId="cluster-9"),
     "cluster 'cluster-9' is not in metadata.clusters"),
    (lambda g: g["edges"][0].update(source="z"), "names an unknown node"),
    (lambda g: g["subclusters"][0]["nodeIds"].append("z"), "names an unknown cluster or node"),
    (lambda g: g["metadata"].update(totalEdges=7), "totalNodes/totalEdges do not count"),
    (lambda g: g["nodes"].append(dict(g["nodes"][0])), "node ids are not unique"),
    (lambda g: g["nodes"][1].update(timestamp="last tuesday"), "nodes.1.timestamp"),
    (lambda g: g["nodes"][0].update(confidence=1.5), "nodes.0.confidence"),
    (lambda g: g["edges"][0].update(confidence="certain"), "edges.0.confidence"),
    (lambda g: g["nodes"][2].update(colour="red"), "nodes.2.colour: Extra inputs"),
    (lambda g: g["nodes"][0].pop("title"), "nodes.0.title: Field required"),
])
def test_a_graph_that_does_not_hold_together_is_refused(change, message):
    with pytest.raises(GraphDataError, match=message):
        check_document(GraphDocument, broken(change), "graph")


def test_a_consistent_graph_passes_and_optional_fields_stay_absent():
    graph = graph_documents.graph()
    check_document(GraphDocument, graph, "graph")
    dumped = GraphDocument.model_validate(graph).model_dump(mode="json", exclude_unset=True)
    assert dumped == graph and "labelSource" not in dumped["metadata"]["clusters"]["cluster-0"]


def test_the_error_message_is_short_however_many_fields_are_wrong():
    graph = graph_documents.graph(tuple("abcdefgh"))
    for node in graph["nodes"]:
        node["confidence"] = "high"
    with pytest.raises(GraphDataError, match=r"\(and 3 more\)$"):
        check_document(GraphDocument, graph, "graph")


def test_every_stored_kind_has_a_schema():
    schemas = graph_json_schemas()
    assert set(schemas) == {m.__name__ for m in DOCUMENT_MODELS.values()}
    node = schemas["GraphDocument"]["$defs"]["GraphNode"]
    assert node["additionalProperties"] is False and "clusterId" in node["required"]
    assert schemas["Assignments"]["type"] == "array"


def test_openapi_answers_reference_the_graph_models(app):  # noqa: F811
    from graphnode.api.openapi import build_spec

    spec = build_spec(app)
    schemas = spec["components"]["schemas"]
    result = schemas["JobResult"]["properties"]["result"]["anyOf"]
    assert {"$ref": "#/components/schemas/GraphDocument"} in result
    assert {"$ref": "#/components/schemas/DocumentGraph"} in result
    assert schemas["Graph"]["properties"]["nodes"]["items"] == {
        "$ref": "#/components/schemas/GraphNode"}
    assert schemas["GraphNode"] == GraphDocument.model_json_schema(
        ref_template="#/components/schemas/{model}")["$defs"]["GraphNode"]


def test_the_api_answers_a_stored_graph_as_its_schema_says(app, client, settings):  # noqa: F811
    from graphnode.api.schemas import Graph, JobResult
    from graphnode.contract.messages import JobStatus, TaskType
    from graphnode.stores import Job, Outcome, ResultKind

    store = app.extensions["graphnode"].store
    store.create_job(Job(taskId="g1", userId="alice", taskType=TaskType.GRAPH_GENERATION_REQUEST))
    store.commit(Outcome(taskId="g1", status=JobStatus.COMPLETED,
                         outputKeys={"graph": "g", "features": "f"},
                         results={ResultKind.GRAPH: graph_documents.graph()},
                         becomesCurrentGraph=True))
    mine = client.get("/v1/graphs/me", headers=auth(settings)).get_json()
    Graph.model_validate(mine)
    assert {k: v for k, v in mine.items() if k not in ("taskId", "createdAt")} == (
        graph_documents.graph())
    result = client.get("/v1/jobs/g1/result", headers=auth(settings)).get_json()
    assert result["result"] == graph_documents.graph()
    assert isinstance(JobResult.model_validate(result).result, GraphDocument)
