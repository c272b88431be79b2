"""ADD_NODE_REQUEST: new items joined to a user's existing graph without rebuilding it."""

from __future__ import annotations

from typing import Any

import numpy as np

from graphnode.celery_app import celery_app
from graphnode.contract import AddNodeRequest, AddNodeResult, Envelope, JobStatus, TaskType
from graphnode.middleware import EnvelopeTask, JobFailed
from tasks.context import (
    bad_input_fails_the_job,
    embedder,
    gpu_settings,
    payload_store,
    put_outputs,
    read_graph,
)


def embeddings_in_node_order(graph: dict[str, Any], features: dict[str, Any]) -> np.ndarray:
    """The stored embeddings, one row per graph node, in the graph's node order."""
    by_id = {node["id"]: node["embedding"] for node in features["nodes"]}
    missing = [node["id"] for node in graph["nodes"] if node["id"] not in by_id]
    if missing:
        raise JobFailed(f"features lack embeddings for nodes {missing[:3]}: regenerate the graph")
    return np.asarray([by_id[node["id"]] for node in graph["nodes"]], dtype=np.float32)


@celery_app.task(name=TaskType.ADD_NODE_REQUEST.value, base=EnvelopeTask, bind=True)
def add_nodes(self: EnvelopeTask, envelope: Envelope, request: AddNodeRequest) -> None:
    from tasks.pipeline.add_node import ALREADY_IN_GRAPH
    from tasks.pipeline.add_node import add_nodes as add_to_graph
    from tasks.pipeline.lexical import Lexicon, project
    from tasks.pipeline.parsing import item_text
    from tasks.pipeline.sources import parse_input

    settings = gpu_settings()
    payloads = payload_store()
    graph = read_graph(request.graphKey)
    features = read_graph(request.featuresKey)
    with bad_input_fails_the_job():
        items = parse_input(payloads.get_json(request.inputKey, request.inputSha256))
    self.progress("parsed", 0.1, f"{len(items)} items")
    existing = embeddings_in_node_order(graph, features)
    texts = [item_text(item) for item in items]
    model = embedder()
    dense = model.encode(
        texts,
        progress=lambda done, total: self.progress("embedding", 0.1 + 0.6 * done / max(total, 1),
                                                   f"{done}/{total} texts embedded"))
    # Into the stored graph's space: its node vectors are [dense, lexical] when it has a lexicon.
    lexicon = Lexicon.from_json(features["lexicon"]) if features.get("lexicon") else None
    new = project(texts, dense, model.readable_scripts, lexicon)
    self.progress("joining", 0.75)
    with bad_input_fails_the_job():
        graph, vectors, assignments = add_to_graph(
            graph, existing, items, new,
            join_threshold=settings.add_node_join_threshold,
            k=settings.edge_neighbours,
            edge_threshold=settings.edge_similarity_threshold,
        )
    features["nodes"] = [
        {"id": node["id"], "embedding": row}
        for node, row in zip(graph["nodes"], np.round(vectors.astype(np.float64), 6).tolist(),
                             strict=True)
    ]
    keys = put_outputs(request.userId, envelope.taskId,
                       {"graph": graph, "features": features, "assignments": assignments})
    added = [a for a in assignments if a["reason"] != ALREADY_IN_GRAPH]
    self.send(TaskType.ADD_NODE_RESULT, envelope.taskId, AddNodeResult(
        userId=request.userId, status=JobStatus.COMPLETED, outputKeys=keys,
        baseGraphTaskId=request.baseGraphTaskId,
        stats={"added": len(added), "skipped": len(assignments) - len(added),
               "newClusters": len({a["clusterId"] for a in added if a["newCluster"]}),
               "nodes": len(graph["nodes"])},
    ))
