"""k-NN semantic edges: undirected, thresholded, with a low-confidence fallback."""

from __future__ import annotations

import numpy as np
import pytest

from tasks.pipeline.edges import confidence_label, drop_self, edges_from_neighbours, knn_edges


def unit_rows(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def at_angles(degrees: list[float]) -> np.ndarray:
    """2-d unit vectors at the given angles: cosines between them are known exactly."""
    rad = np.radians(degrees)
    return np.stack([np.cos(rad), np.sin(rad)], axis=1).astype(np.float32)


def test_no_self_edges_no_duplicates_and_sorted_pairs():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 64))
    x = unit_rows(np.repeat(centres, 20, axis=0) + 0.3 * rng.normal(size=(60, 64)))
    labels = np.repeat(np.arange(3), 20)
    edges = knn_edges(x, labels, k=5, threshold=0.5)
    pairs = [(e["source"], e["target"]) for e in edges]
    assert all(s < t for s, t in pairs)
    assert len(pairs) == len(set(pairs))
    assert all(e["type"] == "semantic" for e in edges)
    assert {s for p in pairs for s in p} == set(range(60))
    for e in edges:
        sim = float(x[e["source"]] @ x[e["target"]])
        assert e["weight"] == pytest.approx(sim, abs=1e-4)
        assert e["isIntraCluster"] == (labels[e["source"]] == labels[e["target"]])


def test_threshold_and_confidence_labels():
    # cos(0-20) = .94, cos(0-50) = .64, cos(0-80) = .17, cos(20-50) = .87
    x = at_angles([0, 20, 50, 130])
    edges = knn_edges(x, np.array([0, 0, 1, 1]), k=3, threshold=0.5)
    got = {(e["source"], e["target"]): (e["weight"], e["confidence"]) for e in edges}
    assert got[(0, 1)] == (pytest.approx(0.9397, abs=1e-4), "high")
    assert got[(1, 2)] == (pytest.approx(0.8660, abs=1e-4), "high")
    assert got[(0, 2)] == (pytest.approx(0.6428, abs=1e-4), "medium")
    # 130 deg has nothing above 0.5 (best is 50 deg, cos 80 = .17): one fallback edge, low.
    assert got[(2, 3)] == (pytest.approx(0.1736, abs=1e-4), "low")
    assert len(got) == 4


def test_a_dissimilar_corpus_gets_fallback_edges_only_between_mutual_neighbours():
    rng = np.random.default_rng(1)
    x = unit_rows(rng.normal(size=(40, 384)))  # random directions: cosines near 0
    edges = knn_edges(x, np.zeros(40, dtype=int), k=5, threshold=0.5)
    assert edges and all(e["confidence"] == "low" for e in edges)
    top5 = [set(np.argsort(-(x @ x[i]))[1:6].tolist()) for i in range(40)]
    assert all(e["target"] in top5[e["source"]] and e["source"] in top5[e["target"]]
               for e in edges)
    assert len(edges) <= 40  # at most one fallback per node
    assert knn_edges(x, np.zeros(40, dtype=int), threshold=0.5, min_edges_per_node=0) == []


def test_a_one_sided_nearest_neighbour_gives_no_fallback_edge():
    # 130 deg is nearest to 20 deg, but 20 deg's two nearest are 0 and 10 deg: an isolated
    # node misleads less than a link to whatever happens to be least far.
    edges = knn_edges(at_angles([0, 10, 20, 130]), np.zeros(4, dtype=int), k=2, threshold=0.5)
    assert all(3 not in (e["source"], e["target"]) for e in edges) and len(edges) == 3


def test_duplicate_texts_link_to_each_other():
    x = unit_rows(np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]))
    edges = knn_edges(x, np.array([0, 0, 1]), k=2, threshold=0.9)
    assert {"source": 0, "target": 1, "weight": 1.0, "type": "semantic",
            "isIntraCluster": True, "confidence": "high"} in edges


def test_small_inputs():
    assert knn_edges(np.zeros((0, 4), dtype=np.float32), np.zeros(0, dtype=int)) == []
    assert knn_edges(unit_rows(np.ones((1, 4))), np.zeros(1, dtype=int)) == []
    two = knn_edges(at_angles([0, 90]), np.array([0, 1]), k=5)
    assert [(e["source"], e["target"], e["confidence"]) for e in two] == [(0, 1, "low")]
    with pytest.raises(ValueError, match="labels"):
        knn_edges(at_angles([0, 90]), np.array([0]))


def test_drop_self_and_edges_from_neighbours_are_pure():
    ids = np.array([[0, 1, 2], [1, 0, 2], [2, 0, -1]])
    sims = np.array([[1.0, 0.8, 0.2], [1.0, 0.8, 0.3], [1.0, 0.2, -1.0]], dtype=np.float32)
    s, i = drop_self(sims, ids, 2)
    assert i.tolist() == [[1, 2], [0, 2], [0, -1]]
    edges = edges_from_neighbours(s, i, np.array([0, 0, 1]), threshold=0.5)
    # Node 2 has nothing above the threshold: it keeps its own best neighbour, node 0.
    assert [(e["source"], e["target"], e["weight"], e["confidence"]) for e in edges] == [
        (0, 1, 0.8, "high"), (0, 2, 0.2, "low")
    ]


def test_confidence_label():
    assert confidence_label(0.7, False) == "high"
    assert confidence_label(0.69, False) == "medium"
    assert confidence_label(0.95, True) == "low"
