"""Semantic edges: each node linked to its nearest neighbours by cosine similarity.

Embeddings are unit vectors, so inner product is cosine similarity and an exact FAISS
``IndexFlatIP`` finds neighbours (on a GPU worker the same index is moved to the GPU); large
graphs on the CPU use an approximate HNSW index (``neighbours.search_index``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tasks.pipeline.neighbours import search_index

HIGH_SIMILARITY = 0.7


def nearest_neighbours(embeddings: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(sims, ids)`` of the ``k`` nearest other rows of each row, by inner product.

    Self matches are removed by index (not by similarity, so duplicate texts still link);
    missing neighbours are padded with id -1 and similarity -inf.
    """
    x = np.ascontiguousarray(embeddings, dtype=np.float32)
    n = len(x)
    want = min(k + 1, n)
    sims, ids = search_index(x, x, want)
    return drop_self(sims, ids, k)


def drop_self(sims: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Remove each row's own index from its neighbour list and keep ``k`` columns."""
    n = ids.shape[0]
    keep = (ids != np.arange(n)[:, None]) & (ids >= 0)
    # Kept columns first, in their order (a stable sort of "dropped" flags), then cut to k.
    order = np.argsort(~keep, axis=1, kind="stable")[:, :k]
    kept = np.take_along_axis(keep, order, axis=1)
    out_ids = np.full((n, k), -1, dtype=np.int64)
    out_sims = np.full((n, k), -np.inf, dtype=np.float32)
    width = order.shape[1]
    out_ids[:, :width] = np.where(kept, np.take_along_axis(ids, order, axis=1), -1)
    out_sims[:, :width] = np.where(kept, np.take_along_axis(sims, order, axis=1), -np.inf)
    return out_sims, out_ids


def confidence_label(similarity: float, fallback: bool) -> str:
    """``low`` for fallback edges below the threshold, else ``high`` (>= 0.7) or ``medium``."""
    if fallback:
        return "low"
    return "high" if similarity >= HIGH_SIMILARITY else "medium"


def edges_from_neighbours(
    sims: np.ndarray,
    ids: np.ndarray,
    labels: np.ndarray,
    threshold: float,
    min_edges_per_node: int = 1,
    reach: np.ndarray | None = None,
) -> list[dict[str, Any]]:
    """Undirected edge list from k-NN lists: pairs above ``threshold``, plus fallbacks.

    A node left with fewer than ``min_edges_per_node`` edges gets its best remaining
    neighbours anyway, marked ``low``, but only mutual ones (each in the other's k-NN list):
    a one-sided nearest neighbour below the threshold is what a lone item has nearest
    whatever it is about, and an isolated node misleads less than a link that says nothing.
    ``reach`` is each row's k-th neighbour similarity (a row takes a neighbour at least that
    close into its list; default: the last column of ``sims``), given where a row's own list
    is not in ``sims`` (add-node's stored nodes). Each unordered pair appears once, with its
    highest similarity.
    """
    pairs: dict[tuple[int, int], tuple[float, bool]] = {}

    def add(i: int, j: int, sim: float, fallback: bool) -> None:
        key = (i, j) if i < j else (j, i)
        old = pairs.get(key)
        if old is None or sim > old[0] or (sim == old[0] and old[1] and not fallback):
            pairs[key] = (sim, fallback)

    n = ids.shape[0]
    for i in range(n):
        for sim, j in zip(sims[i], ids[i], strict=True):
            if j >= 0 and j != i and sim >= threshold:
                add(i, int(j), float(sim), False)
    if min_edges_per_node > 0:
        reach = sims[:, -1] if reach is None else reach
        degree = np.zeros(n, dtype=np.int64)
        for a, b in pairs:
            degree[a] += 1
            degree[b] += 1
        for i in range(n):
            for sim, j in zip(sims[i], ids[i], strict=True):
                if degree[i] >= min_edges_per_node:
                    break
                j = int(j)
                if j < 0 or j == i or sim < reach[j] or (min(i, j), max(i, j)) in pairs:
                    continue
                add(i, j, float(sim), True)
                degree[i] += 1
                degree[j] += 1
    edges = []
    for (i, j), (sim, fallback) in sorted(pairs.items()):
        weight = round(float(np.clip(sim, -1.0, 1.0)), 4)
        edges.append(
            {
                "source": i,
                "target": j,
                "weight": weight,
                "type": "semantic",
                "isIntraCluster": bool(labels[i] == labels[j]),
                "confidence": confidence_label(sim, fallback),
            }
        )
    return edges


def knn_edges(
    embeddings: np.ndarray,
    labels: np.ndarray,
    k: int = 5,
    threshold: float = 0.5,
    min_edges_per_node: int = 1,
) -> list[dict[str, Any]]:
    """k-nearest-neighbour edges between rows of unit ``embeddings`` (indices, not node ids).

    Edge dict: ``source`` < ``target`` (row indices), ``weight`` (cosine, 4 decimals),
    ``type`` "semantic", ``isIntraCluster``, ``confidence`` (high / medium / low).
    """
    n = len(embeddings)
    if len(labels) != n:
        raise ValueError(f"labels has {len(labels)} entries for {n} embeddings")
    if n < 2 or k < 1:
        return []
    sims, ids = nearest_neighbours(embeddings, k)
    return edges_from_neighbours(sims, ids, np.asarray(labels), threshold, min_edges_per_node)
