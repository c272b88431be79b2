"""The pure functions behind the pipeline's speed: k-means++ seeding, silhouettes from one
distance matrix, window caps, batch sizes, the approximate neighbour index, and node keywords
that embed only what the model reads."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import silhouette_score

from tasks.pipeline import neighbours
from tasks.pipeline.clustering import (
    cosine_distances,
    kmeans_plus_plus,
    silhouette_from_distances,
    spherical_kmeans_plus_plus,
)
from tasks.pipeline.edges import nearest_neighbours
from tasks.pipeline.embedding import BATCH_TOKENS, MAX_BATCH, batch_size_for, readable_windows
from tasks.pipeline.keywords import node_keywords
from tasks.pipeline.lexical import model_reads


def blobs(n: int, k: int, dim: int = 32, noise: float = 0.15, seed: int = 0) -> tuple:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, dim))
    truth = rng.integers(0, k, size=n)
    x = centres[truth] / np.sqrt(dim) + rng.normal(scale=noise / np.sqrt(dim), size=(n, dim))
    return x / np.linalg.norm(x, axis=1, keepdims=True), truth


def test_silhouette_from_distances_matches_scikit_learn():
    x, truth = blobs(300, 4)
    ours = silhouette_from_distances(cosine_distances(x), truth)
    assert ours == pytest.approx(silhouette_score(x, truth, metric="cosine"), abs=1e-9)
    lone = truth.copy()
    lone[0] = 9  # a point alone in its cluster scores 0, as in scikit-learn
    assert silhouette_from_distances(cosine_distances(x), lone) == pytest.approx(
        silhouette_score(x, lone, metric="cosine"), abs=1e-9)
    assert silhouette_from_distances(cosine_distances(x), np.zeros(300, dtype=int)) == -1.0


def test_kmeans_plus_plus_seeds_one_per_blob_and_refines_to_the_blobs():
    x, truth = blobs(400, 5, noise=0.05)
    rng = np.random.default_rng(0)
    seeded = kmeans_plus_plus(x, 5, rng)
    assert len(np.unique(seeded)) == 5
    labels = spherical_kmeans_plus_plus(x, 5, random_state=0, n_init=2)
    # Each found cluster is one blob.
    pairs = {(int(a), int(b)) for a, b in zip(labels, truth, strict=True)}
    assert len(pairs) == 5
    assert np.array_equal(labels, spherical_kmeans_plus_plus(x, 5, random_state=0, n_init=2))


def test_readable_windows_follow_the_readable_share():
    assert readable_windows(10, 1.0, None) == 10
    assert readable_windows(10, 0.04, None) == 1  # a Korean text: one window, not ten
    assert readable_windows(10, 0.5, None) == 5
    assert readable_windows(10, 1.0, 4) == 4
    assert readable_windows(1, 0.0, 4) == 1


def test_batch_size_for_short_pieces_is_larger_within_bounds():
    assert batch_size_for(256, 32) == 32
    assert batch_size_for(8, 32) == min(MAX_BATCH, BATCH_TOKENS // 8)
    assert 32 <= batch_size_for(40, 32) <= MAX_BATCH


def test_approximate_index_finds_nearly_the_exact_neighbours(monkeypatch):
    x, _ = blobs(3000, 30, dim=48, noise=0.3)
    x = x.astype(np.float32)
    exact_sims, exact_ids = nearest_neighbours(x, 5)
    monkeypatch.setattr(neighbours, "APPROXIMATE_FROM", 0)
    sims, ids = nearest_neighbours(x, 5)
    recall = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(ids, exact_ids, strict=True)])
    assert recall > 0.95
    assert not np.any(ids == np.arange(len(x))[:, None])  # no self neighbours
    assert np.all(np.diff(sims, axis=1) <= 1e-6)  # best first
    assert np.all(sims[:, 0] <= exact_sims[:, 0] + 1e-5)


def test_model_reads_by_readable_share():
    assert model_reads(["plain English text", "한국어 문장입니다 정말로", "파이썬 pandas"],
                       frozenset({"LATIN"})) == [True, False, True]
    assert model_reads(["한국어"], None) == [True]


def test_node_keywords_embed_only_the_terms_of_readable_texts():
    texts = ["sourdough bread starter flour", "공원 산책 강아지 공원 산책", "espresso coffee beans"]
    embedded: list[str] = []

    def embed(terms: list[str]) -> np.ndarray:
        embedded.extend(terms)
        rng = np.random.default_rng(len(terms))
        v = rng.normal(size=(len(terms), 8))
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    docs = np.eye(3, 8)
    out = node_keywords(texts, top_n=3, embeddings=docs, embed=embed,
                        readable=[True, False, True])
    assert embedded and not any("공원" in t or "산책" in t for t in embedded)
    assert out[1] == node_keywords(texts, top_n=3)[1]  # TF-IDF order
    assert all(out[0]) and all(out[2])
