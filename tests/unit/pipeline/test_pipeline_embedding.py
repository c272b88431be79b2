"""Embedding: pure chunking helpers, and the real bundled MiniLM on a few texts."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np
import pytest

from tasks.pipeline.embedding import (
    DEFAULT_MODEL,
    Embedder,
    get_embedder,
    pool_chunks,
    resolve_model_path,
    thin_spans,
    window_spans,
)

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def test_window_spans_cover_the_text_with_overlap():
    assert window_spans(0, 10, 2) == [(0, 0)]
    assert window_spans(10, 10, 2) == [(0, 10)]
    assert window_spans(25, 10, 2) == [(0, 10), (8, 18), (16, 25)]
    spans = window_spans(1000, 254, 32)
    assert spans[0][0] == 0 and spans[-1][1] == 1000
    assert all(e - s <= 254 for s, e in spans)
    assert all(b[0] == a[1] - 32 for a, b in itertools.pairwise(spans))
    with pytest.raises(ValueError):
        window_spans(5, 0, 0)


def test_thin_spans_keeps_first_last_and_an_even_spread():
    spans = [(i, i + 1) for i in range(100)]
    kept = thin_spans(spans, 5)
    assert kept == [(0, 1), (25, 26), (50, 51), (74, 75), (99, 100)]
    assert thin_spans(spans, None) == spans and thin_spans(spans[:3], 5) == spans[:3]


def test_pool_chunks_is_a_weighted_mean_renormalised():
    chunks = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]], dtype=np.float32)
    pooled = pool_chunks(chunks, np.array([0, 0, 1]), np.array([3.0, 1.0, 1.0]), 2)
    np.testing.assert_allclose(pooled, [[0.9486833, 0.3162278], [0.0, 1.0]], rtol=1e-6)
    assert pooled.dtype == np.float32


def test_resolve_model_path():
    bundled = Path(resolve_model_path(DEFAULT_MODEL))
    assert (bundled / "config.json").is_file() and (bundled / "modules.json").is_file()
    assert resolve_model_path("/some/local/dir") == "/some/local/dir"
    assert resolve_model_path("sentence-transformers/all-mpnet-base-v2") == (
        "sentence-transformers/all-mpnet-base-v2"
    )


def test_get_embedder_is_cached_and_lazy():
    a = get_embedder(DEFAULT_MODEL, "cpu")
    assert a is get_embedder(DEFAULT_MODEL, "cpu") is get_embedder(device="cpu")
    assert a is not get_embedder(DEFAULT_MODEL, None)
    assert Embedder()._model is None  # nothing loaded until first use


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return get_embedder(DEFAULT_MODEL, "cpu")


def test_real_minilm_embeds_chunks_and_ranks_similarity(embedder):
    long_text = " ".join(
        f"Paragraph {i}: the sourdough starter needs rye flour, warm water and patience."
        for i in range(60)
    )
    texts = [
        "How do I keep my sourdough starter alive?",
        "Tips for feeding a bread starter made with flour and water.",
        "The central bank raised interest rates to fight inflation.",
        long_text,
    ]
    calls: list[tuple[int, int]] = []
    vectors = embedder.encode(texts, progress=lambda done, total: calls.append((done, total)))

    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    sims = vectors @ vectors.T
    assert sims[0, 1] > sims[0, 2] + 0.2
    assert sims[3, 0] > sims[3, 2]

    # The long text is split into windows that fit the model, then mean-pooled.
    chunks = embedder.chunk(long_text)
    limit = embedder.model.max_seq_length - 2
    assert len(chunks) > 3
    assert all(len(embedder.model.tokenizer.tokenize(c)) <= limit for c in chunks)
    assert chunks[0].startswith("Paragraph 0:") and chunks[-1].endswith("patience.")
    per_chunk = embedder.model.encode(chunks, normalize_embeddings=True)
    weights = np.array([len(c) for c in chunks], dtype=np.float64)
    expected = (per_chunk * weights[:, None]).sum(axis=0)
    expected /= np.linalg.norm(expected)
    np.testing.assert_allclose(vectors[3], expected, atol=1e-4)

    total = len(chunks) + 3
    assert calls[-1] == (total, total)
    assert embedder.encode([]).shape == (0, 384)


def test_term_vectors_are_the_models_and_kept_between_calls(embedder, monkeypatch):
    from types import SimpleNamespace

    from tasks.pipeline import embedding

    # Without the token table (tested on its own), so every new term reaches encode.
    monkeypatch.setattr(embedder, "token_table", SimpleNamespace(vectors=lambda *_: None))
    embedder.forget_terms()
    terms = ["sourdough starter", "interest rates", "김치", "python"]
    first = embedder.encode_terms(terms)
    np.testing.assert_allclose(first, embedder.encode(terms), atol=1e-5)
    encoded: list[list[str]] = []
    original = embedder.encode
    monkeypatch.setattr(embedder, "encode", lambda texts: encoded.append(list(texts))
                        or original(texts))
    again = embedder.encode_terms(["python", "marathon", "python", "김치"])
    assert encoded == [["marathon"]]  # only the unseen term reaches the model
    np.testing.assert_array_equal(again[[0, 2, 3]], first[[3, 3, 2]])
    monkeypatch.setattr(embedding, "TERM_CACHE_SIZE", 3)
    embedder.encode_terms(["bread", "flour"])  # the least recently used go first
    assert list(embedder._term_vectors) == ["김치", "bread", "flour"]
    assert embedder.encode_terms([]).shape == (0, 384)
    embedder.forget_terms()
