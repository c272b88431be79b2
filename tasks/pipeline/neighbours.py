"""Nearest neighbours of new vectors in an existing set, by inner product (FAISS).

``edges.nearest_neighbours`` answers "who is near whom" inside one set; adding nodes to a stored
graph needs the other question, "which stored rows are nearest each new row", without putting
the new rows into the searched set (they would find themselves). Rows are unit vectors, so
inner product is cosine similarity; an exact ``IndexFlatIP`` moves to the GPU when there is one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Queries x rows from which the CPU search is approximate (HNSW): about 20k rows against
#: themselves. Add-node's few new rows against a large graph stay exact (linear in its size).
APPROXIMATE_FROM = 4e8
#: HNSW links per node, and candidate list sizes while building and searching.
HNSW_LINKS = 32
HNSW_EF_CONSTRUCTION = 64
HNSW_EF_SEARCH = 96


def gpu_count() -> int:
    import faiss

    return int(getattr(faiss, "get_num_gpus", lambda: 0)())


def hnsw_ip_index(dimension: int) -> Any:
    """An approximate inner-product index (HNSW, CPU)."""
    import faiss

    index = faiss.IndexHNSWFlat(dimension, HNSW_LINKS, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    index.hnsw.efSearch = HNSW_EF_SEARCH
    return index


def search_index(base: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """FAISS ``search`` of ``queries`` in an index holding ``base`` (float32, contiguous):
    exact on a GPU or below ``APPROXIMATE_FROM``, else HNSW."""
    if gpu_count() == 0 and float(len(base)) * len(queries) >= APPROXIMATE_FROM:
        index = hnsw_ip_index(base.shape[1])
    else:
        index = flat_ip_index(base.shape[1])
    index.add(base)
    return index.search(queries, k)


def flat_ip_index(dimension: int) -> Any:
    """An exact inner-product FAISS index, on GPU 0 when FAISS sees a GPU."""
    import faiss

    index: Any = faiss.IndexFlatIP(dimension)
    if gpu_count() > 0:
        resources = faiss.StandardGpuResources()
        index = faiss.index_cpu_to_gpu(resources, 0, index)
    return index


def query_neighbours(
    base: np.ndarray, queries: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(sims, ids)``, shape ``(len(queries), k)``: each query's ``k`` nearest rows of ``base``.

    Ids index ``base``; when ``base`` has fewer than ``k`` rows the missing columns are padded
    with id -1 and similarity -inf (the padding ``edges.drop_self`` uses), so the result feeds
    ``edges.edges_from_neighbours`` directly.
    """
    q = np.ascontiguousarray(queries, dtype=np.float32)
    x = np.ascontiguousarray(base, dtype=np.float32)
    if q.ndim != 2 or x.ndim != 2:
        raise ValueError(f"base and queries must be 2-d, got {x.shape} and {q.shape}")
    k = max(0, int(k))
    sims = np.full((len(q), k), -np.inf, dtype=np.float32)
    ids = np.full((len(q), k), -1, dtype=np.int64)
    if len(q) == 0 or len(x) == 0 or k == 0:
        return sims, ids
    if x.shape[1] != q.shape[1]:
        raise ValueError(f"dimension mismatch: base has {x.shape[1]}, queries {q.shape[1]}")
    want = min(k, len(x))
    found_sims, found_ids = search_index(x, q, want)
    valid = found_ids >= 0
    sims[:, :want] = np.where(valid, found_sims, -np.inf)
    ids[:, :want] = np.where(valid, found_ids, -1)
    return sims, ids
