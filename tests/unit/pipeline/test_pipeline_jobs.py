"""The job functions the task adapters call, with a stand-in embedder: each one's documents
follow ``graphnode.contract.graph_model`` and survive a round trip through the models unchanged."""

from __future__ import annotations

import json
import zlib

import numpy as np
import pytest

from graphnode.contract.graph_model import (
    Assignments,
    DocumentGraph,
    GraphDataError,
    GraphDocument,
    SummaryDocument,
    check_document,
)
from graphnode.settings import GpuWorkerSettings
from tasks.pipeline import jobs
from tasks.pipeline.errors import InputError

TOPICS = {
    "bread": "sourdough starter flour oven crumb proofing rye yeast dough loaf",
    "football": "football striker goal league club season transfer referee penalty match",
    "python": "python function pandas dataframe asyncio loop import module class decorator",
}


class TopicEmbedder:
    """Unit vectors near one direction per topic word, so clusters follow the topics."""

    readable_scripts = None

    def __init__(self) -> None:
        rng = np.random.default_rng(0)
        self.centres = {topic: rng.normal(size=32) for topic in TOPICS}

    def load(self) -> TopicEmbedder:
        return self

    def encode_terms(self, terms):
        return self.encode(terms)

    def encode(self, texts, progress=None):
        rows = []
        for text in texts:
            rng = np.random.default_rng(zlib.crc32(text.encode()))
            topic = max(TOPICS, key=lambda t: sum(w in text for w in TOPICS[t].split()))
            rows.append(self.centres[topic] + 0.3 * rng.normal(size=32))
        if progress is not None:
            progress(len(texts), len(texts))
        x = np.asarray(rows, dtype=np.float32)
        return x / np.linalg.norm(x, axis=1, keepdims=True)


def conversations(per_topic: int, start: int = 0) -> list[list[dict]]:
    rng = np.random.default_rng(start)
    out = []
    for topic, vocab in TOPICS.items():
        for i in range(start, start + per_topic):
            words = " ".join(rng.choice(vocab.split(), size=10))
            out.append([{"id": f"{topic}-{i}", "role": "user", "content": f"{topic} {words}?"},
                        {"id": f"{topic}-{i}-a", "role": "assistant", "content": words}])
    return out


SETTINGS = GpuWorkerSettings(node_keyword_mmr=False)
stages: list[str] = []


def report(stage: str, fraction: float, detail: str | None) -> None:
    stages.append(stage)


@pytest.fixture(scope="module")
def generated() -> jobs.JobOutput:
    return jobs.generate_graph(conversations(6), embedder=TopicEmbedder(), generator=None,
                               settings=SETTINGS, min_clusters=2, max_clusters=5, report=report)


def test_generation_documents_follow_the_graph_model(generated):
    graph = generated.documents["graph"]
    check_document(GraphDocument, graph, "graph")
    # The models read the wire as it is: a round trip changes nothing.
    assert GraphDocument.model_validate(graph).model_dump(mode="json", exclude_unset=True) == (
        json.loads(json.dumps(graph)))
    assert generated.stats == {"nodes": 18, "edges": len(graph["edges"]),
                               "clusters": len(graph["metadata"]["clusters"]),
                               "withoutText": 0}
    assert {"parsed", "embedding", "clustering"} <= set(stages)


def test_add_nodes_and_summary_documents_follow_their_models(generated):
    graph, features = generated.documents["graph"], generated.documents["features"]
    added = jobs.add_nodes(graph, features, conversations(2, start=50),
                           embedder=TopicEmbedder(), settings=SETTINGS, report=report)
    check_document(GraphDocument, added.documents["graph"], "graph")
    check_document(Assignments, added.documents["assignments"], "assignments")
    assert added.stats["added"] == 6 and added.stats["nodes"] == 24
    summary = jobs.summarize_graph(added.documents["graph"], generator=None, report=report)
    check_document(SummaryDocument, summary.documents["summary"], "summary")
    assert summary.stats == {"clusters": len(graph["metadata"]["clusters"]), "nodes": 24}


def test_stored_embeddings_must_cover_every_node(generated):
    graph = generated.documents["graph"]
    features = {**generated.documents["features"], "nodes": []}
    with pytest.raises(InputError, match="lack embeddings"):
        jobs.add_nodes(graph, features, conversations(1, start=60), embedder=TopicEmbedder(),
                       settings=SETTINGS, report=report)


def test_a_document_graph_follows_its_model():
    text = ("Marie Curie worked in Paris with Pierre Curie. Marie Curie won the Nobel Prize. "
            "Pierre Curie taught physics in Paris.\n\n") * 3
    output = jobs.ingest_document(text.encode(), file_name="curie.md", document_id="d1",
                                  generator=None, settings=SETTINGS, report=report)
    graph = output.documents["graph"]
    check_document(DocumentGraph, graph, "document graph")
    assert graph["document"] == {"documentId": "d1", "fileName": "curie.md"}
    assert output.stats["entities"] == len(graph["entities"]) > 0


def test_a_pipeline_graph_that_breaks_the_model_fails_the_job_before_it_is_stored(
        generated, monkeypatch):
    from tasks.pipeline import graph as graph_module

    build = graph_module.build_graph

    def dangling(*args, **kwargs):
        graph, features = build(*args, **kwargs)
        graph["edges"].append({**graph["edges"][0], "target": "nowhere"})
        graph["metadata"]["totalEdges"] += 1
        return graph, features

    monkeypatch.setattr(graph_module, "build_graph", dangling)
    with pytest.raises(GraphDataError, match="names an unknown node"):
        jobs.generate_graph(conversations(4), embedder=TopicEmbedder(), generator=None,
                            settings=SETTINGS, min_clusters=2, max_clusters=4, report=report)
