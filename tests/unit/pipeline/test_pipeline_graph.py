"""build_graph on synthetic items: the GraphNode shape, consistency, progress."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tasks.pipeline.errors import InputError
from tasks.pipeline.graph import (
    absorb_small,
    build_graph,
    describe_cluster,
    iso_timestamp,
    name_coverage,
    nearest_to_centroid,
)
from tasks.pipeline.parsing import SourceItem

TOPICS = {
    "baking": "sourdough starter flour bread oven crumb proofing rye yeast dough",
    "football": "football match striker goal league club season transfer referee penalty",
    "python": "python code function pandas dataframe asyncio loop import module class",
}


def synthetic(per_topic: int = 15, seed: int = 0) -> tuple[list[SourceItem], np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(TOPICS), 384))
    items, vectors = [], []
    for t, (topic, vocab) in enumerate(TOPICS.items()):
        words = vocab.split()
        for i in range(per_topic):
            text = " ".join(rng.choice(words, size=12)) + f" note number {i}"
            items.append(SourceItem(
                id=f"{topic}-{i}", title=f"{topic.title()} chat {i}", text=text,
                timestamp=1700000000.0 + 3600 * i if i % 5 else None, num_sections=2 + i % 3,
                source_type="chat",
            ))
            vectors.append(centres[t] + 0.6 * rng.normal(size=384))
    x = np.array(vectors, dtype=np.float32)
    return items, x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def built():
    items, x = synthetic()
    calls: list[tuple[str, float]] = []
    graph, features = build_graph(items, x, progress=lambda s, f: calls.append((s, f)))
    return items, x, graph, features, calls


def test_nodes_have_the_graphnode_fields(built):
    items, _, graph, _, _ = built
    nodes = graph["nodes"]
    assert [n["id"] for n in nodes] == [i.id for i in items]
    for node, item in zip(nodes, items, strict=True):
        assert set(node) == {"id", "origId", "clusterId", "clusterName", "keywords", "timestamp",
                             "numSections", "sourceType", "title", "confidence"}
        assert node["origId"] == item.id and node["title"] == item.title
        assert node["numSections"] == item.num_sections and node["sourceType"] == "chat"
        assert node["clusterId"] in graph["metadata"]["clusters"]
        assert node["clusterName"] == graph["metadata"]["clusters"][node["clusterId"]]["name"]
        assert 0.0 <= node["confidence"] <= 1.0
        assert 1 <= len(node["keywords"]) <= 5
        assert (node["timestamp"] is None) == (item.timestamp is None)
    assert nodes[1]["timestamp"] == "2023-11-14T23:13:20+00:00"


def test_clusters_match_the_topics_and_are_named_from_them(built):
    _, _, graph, _, _ = built
    clusters = graph["metadata"]["clusters"]
    assert len(clusters) == 3
    topics_of: dict[str, set[str]] = {}
    for node in graph["nodes"]:
        topics_of.setdefault(node["clusterId"], set()).add(node["id"].split("-")[0])
    for cid, topics in topics_of.items():
        [topic] = topics  # each cluster is exactly one topic
        assert set(clusters[cid]["keyThemes"]) <= set(TOPICS[topic].split())
    for meta in clusters.values():
        assert set(meta) == {"name", "description", "size", "keyThemes"}
        assert meta["size"] == 15 and meta["name"].count(" / ") == 2
        assert meta["description"].startswith("15 items about ") and "\u201c" in meta["description"]
    assert graph["metadata"]["totalNodes"] == 45
    assert graph["metadata"]["totalEdges"] == len(graph["edges"])


def test_edges_use_node_ids_once_each(built):
    _, _, graph, _, _ = built
    ids = {n["id"] for n in graph["nodes"]}
    cluster_of = {n["id"]: n["clusterId"] for n in graph["nodes"]}
    pairs = set()
    for e in graph["edges"]:
        assert e["source"] in ids and e["target"] in ids and e["source"] != e["target"]
        pairs.add(frozenset((e["source"], e["target"])))
        assert e["isIntraCluster"] == (cluster_of[e["source"]] == cluster_of[e["target"]])
        assert e["type"] == "semantic" and e["confidence"] in {"high", "medium", "low"}
    assert len(pairs) == len(graph["edges"]) > 0


def test_subclusters_partition_each_cluster(built):
    _, _, graph, _, _ = built
    members: dict[str, list[str]] = {}
    for n in graph["nodes"]:
        members.setdefault(n["clusterId"], []).append(n["id"])
    seen: dict[str, list[str]] = {}
    for sub in graph["subclusters"]:
        assert sub["id"].startswith(f"{sub['clusterId']}-sub-")
        assert sub["representativeNodeId"] in sub["nodeIds"]
        assert isinstance(sub["topKeywords"], list)
        seen.setdefault(sub["clusterId"], []).extend(sub["nodeIds"])
    assert {c: sorted(v) for c, v in seen.items()} == {c: sorted(v) for c, v in members.items()}


def test_features_and_progress(built):
    items, x, graph, features, calls = built
    assert features["dimension"] == 384
    assert [n["id"] for n in features["nodes"]] == [i.id for i in items]
    emb = np.array([n["embedding"] for n in features["nodes"]])
    np.testing.assert_allclose(emb, x, atol=1e-6)
    assert features["extraction"]["method"] == "c-tf-idf"
    assert [s for s, _ in calls] == ["clustering", "edges", "keywords", "subclusters"]
    fractions = [f for _, f in calls]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    json.dumps(graph), json.dumps(features)  # plain JSON types only


@pytest.mark.parametrize("n", [1, 2, 3])
def test_tiny_graphs(n):
    items, x = synthetic(per_topic=1)
    graph, features = build_graph(items[:n], x[:n])
    assert len(graph["nodes"]) == n == len(features["nodes"])
    assert len(graph["metadata"]["clusters"]) == n
    assert sum(len(s["nodeIds"]) for s in graph["subclusters"]) == n


def test_mismatched_or_duplicate_input_is_rejected():
    items, x = synthetic(per_topic=2)
    with pytest.raises(InputError, match="do not match"):
        build_graph(items, x[:-1])
    with pytest.raises(InputError, match="no items"):
        build_graph([], x[:0])
    with pytest.raises(InputError, match="unique"):
        build_graph([items[0], items[0]], x[:2])


def test_helpers():
    assert iso_timestamp(None) is None and iso_timestamp(float("nan")) is None
    assert iso_timestamp(0.0) == "1970-01-01T00:00:00+00:00"
    assert iso_timestamp(1700000000000.0) == iso_timestamp(1700000000.0)  # milliseconds
    assert describe_cluster(["a"], ["T"], 1) == "1 item about a, such as \u201cT\u201d."
    assert describe_cluster([], [], 2) == "2 items about assorted topics."
    x = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])
    assert nearest_to_centroid(x, np.array([0, 1, 2]), 1) == [1]
    merged = absorb_small([[0, 1, 2], [3, 4, 5], [6]], np.array(
        [[1, 0], [1, 0], [1, 0], [0, 1], [0, 1], [0, 1], [0.1, 1]], dtype=float), 3)
    assert merged == [[0, 1, 2], [3, 4, 5, 6]]


def test_the_count_is_reported_with_how_sure_it_is(built):
    from graphnode.contract.graph_model import GraphDocument

    _, _, graph, _, _ = built
    count = graph["metadata"]["clusterCount"]
    assert count["chosen"] == len(graph["metadata"]["clusters"]) == 3
    assert (count["minClusters"], count["maxClusters"]) == (3, 8)
    assert count["source"] == "structure" and count["confidence"] == "high"
    assert count["margin"] > 0 and count["balanceSplits"] == 0
    GraphDocument.model_validate(graph)


def test_cluster_names_describe_most_of_their_members(built):
    _, _, graph, _, _ = built
    coverage = name_coverage(graph)
    assert set(coverage) == set(graph["metadata"]["clusters"])
    assert min(coverage.values()) >= 0.8, coverage
