"""add_nodes on synthetic blobs: joining, new clusters, frozen ids and names, valid edges."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from tasks.pipeline.add_node import (
    ALREADY_IN_GRAPH,
    add_nodes,
    join_confidence,
    merge_neighbours,
    new_cluster_confidence,
    next_cluster_ids,
    similarity_groups,
    unique_name,
)
from tasks.pipeline.errors import InputError
from tasks.pipeline.graph import build_graph
from tasks.pipeline.neighbours import query_neighbours
from tasks.pipeline.parsing import SourceItem

DIM = 64
TOPICS = {
    "baking": "sourdough starter flour bread oven crumb proofing rye yeast dough",
    "football": "football match striker goal league club season transfer referee penalty",
    "python": "python code function pandas dataframe asyncio loop import module class",
    "garden": "garden tomato compost seedling soil mulch watering pruning greenhouse bed",
}
RNG = np.random.default_rng(7)
CENTRES = {topic: RNG.normal(size=DIM) for topic in TOPICS}


def unit(x: np.ndarray) -> np.ndarray:
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def make(topic: str, count: int, seed: int, prefix: str | None = None):
    """``count`` items of a topic: texts from its vocabulary, vectors around its centre."""
    rng = np.random.default_rng(seed)
    words = TOPICS[topic].split()
    items = [
        SourceItem(
            id=f"{prefix or topic}-{i}", title=f"{topic.title()} chat {i}",
            text=" ".join(rng.choice(words, size=12)), timestamp=1.7e9 + 3600 * i,
            num_sections=2,
        )
        for i in range(count)
    ]
    vectors = unit(CENTRES[topic] + 0.35 * rng.normal(size=(count, DIM)))
    return items, vectors


@pytest.fixture(scope="module")
def stored():
    items, vectors = [], []
    for seed, topic in enumerate(["baking", "football", "python"]):
        i, v = make(topic, 12, seed)
        items += i
        vectors.append(v)
    x = np.vstack(vectors)
    graph, _ = build_graph(items, x, min_clusters=3, max_clusters=3)
    return graph, x


def cluster_of_topic(graph: dict, topic: str) -> str:
    [cid] = {n["clusterId"] for n in graph["nodes"] if n["id"].startswith(f"{topic}-")}
    return cid


def check_graph(graph: dict, embeddings: np.ndarray) -> None:
    """Invariants of a valid graph: edges, sizes, totals, subcluster partition."""
    nodes = graph["nodes"]
    ids = [n["id"] for n in nodes]
    assert len(ids) == len(set(ids)) == len(embeddings)
    row = {node_id: r for r, node_id in enumerate(ids)}
    cluster = {n["id"]: n["clusterId"] for n in nodes}
    pairs = set()
    for e in graph["edges"]:
        assert e["source"] in row and e["target"] in row and e["source"] != e["target"]
        pairs.add(frozenset((e["source"], e["target"])))
        assert e["isIntraCluster"] == (cluster[e["source"]] == cluster[e["target"]])
        sim = float(embeddings[row[e["source"]]] @ embeddings[row[e["target"]]])
        assert e["weight"] == pytest.approx(sim, abs=1e-3)
    assert len(pairs) == len(graph["edges"]) == graph["metadata"]["totalEdges"]
    assert graph["metadata"]["totalNodes"] == len(nodes)
    sizes = {c: m["size"] for c, m in graph["metadata"]["clusters"].items()}
    counts: dict[str, int] = {}
    for n in nodes:
        counts[n["clusterId"]] = counts.get(n["clusterId"], 0) + 1
    assert sizes == counts
    for n in nodes:
        assert n["clusterName"] == graph["metadata"]["clusters"][n["clusterId"]]["name"]
    members: dict[str, list[str]] = {}
    for sub in graph["subclusters"]:
        members.setdefault(sub["clusterId"], []).extend(sub["nodeIds"])
        assert sub["representativeNodeId"] in sub["nodeIds"]
    assert {c: sorted(v) for c, v in members.items()} == {
        c: sorted(n["id"] for n in nodes if n["clusterId"] == c) for c in counts
    }
    json.dumps(graph)


def test_items_from_an_existing_blob_join_it(stored):
    graph, x = stored
    before = copy.deepcopy(graph)
    items, vectors = make("football", 3, seed=100, prefix="new-football")
    out, emb, assignments = add_nodes(graph, x, items, vectors)
    assert graph == before  # the input graph is not modified
    target = cluster_of_topic(graph, "football")
    name = graph["metadata"]["clusters"][target]["name"]
    assert [a["nodeId"] for a in assignments] == [i.id for i in items]
    for a in assignments:
        assert a["clusterId"] == target and a["clusterName"] == name
        assert not a["newCluster"] and a["confidence"] >= 0.75 and a["similarity"] >= 0.6
        assert a["reason"].startswith("similarity ") and f"'{name}'" in a["reason"]
        assert "(its threshold " in a["reason"]
    assert out["metadata"]["clusters"][target]["size"] == 15
    assert len(out["metadata"]["clusters"]) == 3
    check_graph(out, emb)
    new_nodes = out["nodes"][len(graph["nodes"]):]
    assert [n["id"] for n in new_nodes] == [i.id for i in items]
    for node in new_nodes:
        assert set(node) == set(graph["nodes"][0])
        words = " ".join(node["keywords"]).split()
        assert words and set(words) <= set(TOPICS["football"].split()) | {"chat"}
        linked = [e for e in out["edges"] if node["id"] in (e["source"], e["target"])]
        assert linked and any(e["isIntraCluster"] for e in linked)


def test_a_new_blob_starts_one_new_cluster(stored):
    graph, x = stored
    items, vectors = make("garden", 4, seed=200)
    out, emb, assignments = add_nodes(graph, x, items, vectors)
    assert {a["clusterId"] for a in assignments} == {"cluster-3"}
    assert all(a["newCluster"] for a in assignments)
    meta = out["metadata"]["clusters"]["cluster-3"]
    assert meta["size"] == 4 and meta["name"] == assignments[0]["clusterName"]
    name_words = meta["name"].lower().replace(" / ", " ").split()
    assert name_words and all(w in TOPICS["garden"].split() for w in name_words)
    theme_words = " ".join(meta["keyThemes"]).split()
    assert theme_words and set(theme_words) <= set(TOPICS["garden"].split()) | {"chat"}
    for a in assignments:
        assert a["similarity"] < 0.2 and 0.9 <= a["confidence"] <= 1.0
        assert "below the threshold 0.45" in a["reason"] and "3 other new items" in a["reason"]
    check_graph(out, emb)
    # Existing clusters keep their ids, names and descriptions; existing nodes are unchanged.
    for cid, old in graph["metadata"]["clusters"].items():
        assert out["metadata"]["clusters"][cid] == old
    assert out["nodes"][: len(graph["nodes"])] == graph["nodes"]
    assert out["edges"][: len(graph["edges"])] == graph["edges"]
    assert out["subclusters"][: len(graph["subclusters"])] == graph["subclusters"]
    assert "updatedAt" in out["metadata"]
    np.testing.assert_allclose(emb[: len(x)], x, atol=1e-6)
    np.testing.assert_allclose(emb[len(x):], vectors, atol=1e-6)


def test_mixed_batch_and_two_unrelated_outliers(stored):
    graph, x = stored
    baking, v_baking = make("baking", 2, seed=300, prefix="new-baking")
    rng = np.random.default_rng(5)
    outliers = [SourceItem(id=f"odd-{i}", title=f"Odd {i}", text=f"zebra{i} quasar{i} kelp{i}",
                           timestamp=None, num_sections=1) for i in range(2)]
    v_odd = unit(rng.normal(size=(2, DIM)))
    assert float(v_odd[0] @ v_odd[1]) < 0.45
    out, emb, assignments = add_nodes(
        graph, x, [outliers[0], *baking, outliers[1]], np.vstack([v_odd[:1], v_baking, v_odd[1:]])
    )
    by_id = {a["nodeId"]: a for a in assignments}
    # Two unrelated outliers make no cluster of their own: each goes to its nearest cluster,
    # with a low confidence that says so.
    assert set(out["metadata"]["clusters"]) == set(graph["metadata"]["clusters"])
    for odd in ("odd-0", "odd-1"):
        assert not by_id[odd]["newCluster"] and by_id[odd]["confidence"] == 0.25
        assert "low confidence" in by_id[odd]["reason"]
    baking_cluster = cluster_of_topic(graph, "baking")
    assert by_id["new-baking-0"]["clusterId"] == baking_cluster
    check_graph(out, emb)
    # The new baking chats link to their topic; the outliers stay unlinked: nothing is close,
    # and no stored node has them among its neighbours, so a fallback edge would say nothing.
    def linked(node_id: str) -> bool:
        return any(node_id in (e["source"], e["target"]) for e in out["edges"])

    assert all(linked(item.id) for item in baking)
    assert not linked("odd-0") and not linked("odd-1")


def test_re_adding_an_identical_item_is_skipped(stored):
    graph, x = stored
    items, _ = make("baking", 12, seed=0)  # the very items the graph was built from
    out, emb, assignments = add_nodes(graph, x, [items[3]], x[3:4])
    [a] = assignments
    assert a["reason"] == ALREADY_IN_GRAPH and a["nodeId"] == "baking-3" and not a["newCluster"]
    assert a["clusterId"] == graph["nodes"][3]["clusterId"]
    assert len(out["nodes"]) == len(graph["nodes"]) and out["edges"] == graph["edges"]
    assert emb.shape == x.shape


def test_conflicting_or_malformed_input_is_rejected(stored):
    graph, x = stored
    items, vectors = make("baking", 12, seed=0)
    changed = SourceItem(id=items[0].id, title="Another title", text=items[0].text,
                         timestamp=items[0].timestamp, num_sections=2)
    with pytest.raises(InputError, match="differs in title"):
        add_nodes(graph, x, [changed], vectors[:1])
    other_vector = unit(RNG.normal(size=DIM))
    with pytest.raises(InputError, match="differs in embedding"):
        add_nodes(graph, x, [items[0]], other_vector)
    fresh, v = make("garden", 2, seed=1)
    with pytest.raises(InputError, match="unique"):
        add_nodes(graph, x, [fresh[0], fresh[0]], np.vstack([v[0], v[0]]))
    with pytest.raises(InputError, match="do not match"):
        add_nodes(graph, x, fresh, v[:1])
    with pytest.raises(InputError, match="graph nodes"):
        add_nodes(graph, x[:-1], fresh, v)
    with pytest.raises(InputError, match="dimension"):
        add_nodes(graph, x, fresh, v[:, :10])


def test_empty_graph_and_empty_batch(stored):
    empty = {"nodes": [], "edges": [], "subclusters": [], "metadata": {"clusters": {}}}
    items, vectors = make("garden", 3, seed=2)
    out, emb, assignments = add_nodes(empty, np.zeros((0, DIM)), items, vectors)
    assert {a["clusterId"] for a in assignments} == {"cluster-0"}
    assert all(a["similarity"] is None and a["confidence"] == 1.0 for a in assignments)
    assert all(a["reason"].startswith("no existing clusters") for a in assignments)
    check_graph(out, emb)
    graph, x = stored
    same, emb2, none = add_nodes(graph, x, [], np.zeros((0, DIM)))
    assert none == [] and same["nodes"] == graph["nodes"] and emb2.shape == x.shape


def test_helpers():
    assert next_cluster_ids(["cluster-0", "cluster-7", "misc"], 2) == ["cluster-8", "cluster-9"]
    assert next_cluster_ids(["misc"], 1) == ["cluster-0"]
    assert unique_name("A", {"A", "A (2)"}) == "A (3)" and unique_name("B", {"A"}) == "B"
    assert join_confidence(0.45, 0.45) == 0.5 and join_confidence(1.0, 0.45) == 1.0
    assert new_cluster_confidence(0.44999, 0.45) == pytest.approx(0.5, abs=1e-4)
    assert new_cluster_confidence(-1.0, 0.45) == 1.0 and new_cluster_confidence(None, 0.45) == 1
    # Components, not seeds: 0~1 and 1~2 chain, 3 is alone, whatever the order.
    angles = np.radians([0, 50, 100, 200])
    x = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    assert similarity_groups(x, 0.6) == [[0, 1, 2], [3]]
    assert similarity_groups(x[[3, 2, 1, 0]], 0.6) == [[0], [1, 2, 3]]
    sims, ids = merge_neighbours(
        [(np.array([[0.9, -np.inf]]), np.array([[4, -1]])), (np.array([[0.95, 0.1]]),
                                                              np.array([[7, 8]]))], 3)
    assert ids.tolist() == [[7, 4, 8]] and sims[0, 0] == pytest.approx(0.95)


def test_query_neighbours_pads_and_orders():
    base = unit(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
    sims, ids = query_neighbours(base, unit(np.array([[1.0, 0.1]])), k=5)
    assert ids.tolist() == [[0, 2, 1, -1, -1]]
    assert sims[0, 0] > sims[0, 1] > sims[0, 2] and np.isneginf(sims[0, 3:]).all()
    sims, ids = query_neighbours(np.zeros((0, 2)), np.ones((2, 2)), k=3)
    assert ids.shape == (2, 3) and (ids == -1).all()
