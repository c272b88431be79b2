"""Dense + lexical item vectors, and the planted topics of the Korean sample coming back."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_mutual_info_score

from graphnode.samples import KOREAN_TOPICS, korean_topic_labels, load_korean_export
from tasks.pipeline.graph import build_graph, name_coverage
from tasks.pipeline.lexical import (
    Lexicon,
    item_vectors,
    project,
    readable_share,
    vocabulary_scripts,
)
from tasks.pipeline.parsing import item_text
from tasks.pipeline.sources import parse_input

LATIN = frozenset({"LATIN"})


def test_vocabulary_scripts_count_whole_words_not_single_jamo():
    latin = [f"##{a}{b}" for a in "abcdefghijklmnopqrst" for b in "abcdefghijklmnopqrst"]
    vocab = [*latin, "##ᄀ", "ᅡ", "서울", *(chr(0xAC00 + i) for i in range(400))]
    assert vocabulary_scripts(vocab) == LATIN
    assert "HANGUL" in vocabulary_scripts(vocab + [f"서{chr(0xAC00 + i)}" for i in range(300)])


def test_readable_share_counts_letters_by_script():
    assert readable_share("Plain English, 2025!", LATIN) == 1.0
    assert readable_share("pandas 데이터", LATIN) == pytest.approx(6 / 9)
    assert readable_share("김치찌개", LATIN) == 0.0
    assert readable_share("김치찌개", None) == 1.0  # a model that reads every script
    assert readable_share("1234 !?", LATIN) == 1.0


def korean_sample() -> tuple[list, list[str]]:
    items = parse_input(load_korean_export())
    labels = korean_topic_labels()
    return items, [labels[item.id] for item in items]


def what_minilm_makes_of_korean(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    """Vectors an English model gives Korean texts: one shared direction, a little noise."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=dim)
    return base + 0.3 * rng.normal(size=(n, dim))


def test_english_texts_keep_their_embeddings_and_fit_no_lexicon():
    dense = np.eye(3, 8)
    vectors, lexicon = item_vectors(["a cat", "a dog", "a bird"], dense, LATIN)
    assert lexicon is None and np.allclose(vectors, dense)


def test_korean_sample_planted_topics_come_back_from_an_english_model():
    items, truth = korean_sample()
    dense = what_minilm_makes_of_korean(len(items))
    graph, features = build_graph(items, dense, min_clusters=3, max_clusters=12, scripts=LATIN)
    by_id = {node["id"]: node["clusterId"] for node in graph["nodes"]}
    found = [by_id[item.id] for item in items]
    assert adjusted_mutual_info_score(truth, found) >= 0.9
    assert len(set(found)) == len(KOREAN_TOPICS)
    assert features["lexicon"]["terms"] and features["dimension"] > dense.shape[1]
    # Without the lexical part the same embeddings say nothing about the topics.
    plain, _ = build_graph(items, dense, min_clusters=3, max_clusters=12)
    plain_found = [n["clusterId"] for n in plain["nodes"]]
    assert adjusted_mutual_info_score(truth, plain_found) < 0.5


def test_a_korean_chat_with_none_of_the_lexicon_terms_keeps_its_embedding():
    # A short chat whose words occur in no other text has an empty lexical part: its vector
    # was all zeros, and the build failed (scipy's linkage refuses a zero centroid).
    items, _ = korean_sample()
    texts = [item_text(item) for item in items] + ["너는 클론을 가질 수 없다"]
    rng = np.random.default_rng(0)
    dense = rng.normal(size=(len(texts), 16))
    vectors, lexicon = item_vectors(texts, dense, LATIN)
    assert not lexicon.transform(texts[-1:]).any()
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.allclose(vectors[-1, :16], dense[-1] / np.linalg.norm(dense[-1]), atol=1e-5)


def test_project_places_new_items_in_the_stored_space():
    items, truth = korean_sample()
    texts = [item_text(item) for item in items]
    dense = what_minilm_makes_of_korean(len(items))
    vectors, lexicon = item_vectors(texts[:60], dense[:60], LATIN)
    stored = Lexicon.from_json(lexicon.to_json())
    new = project(texts[60:], dense[60:], LATIN, stored)
    assert new.shape[1] == vectors.shape[1]
    # Each new item's nearest stored item is mostly of its own topic.
    nearest = (new @ vectors.T).argmax(axis=1)
    agree = np.mean([truth[60 + i] == truth[j] for i, j in enumerate(nearest)])
    assert agree >= 0.9


@pytest.mark.long
def test_korean_sample_with_the_bundled_minilm():
    from tasks.pipeline.embedding import get_embedder

    items, truth = korean_sample()
    model = get_embedder()
    dense = model.encode([item_text(item) for item in items])
    graph, _ = build_graph(items, dense, min_clusters=3, max_clusters=12,
                           scripts=model.readable_scripts)
    found = [n["clusterId"] for n in graph["nodes"]]
    assert adjusted_mutual_info_score(truth, found) >= 0.9


def test_korean_sample_cluster_names_are_topics_not_particles_or_small_talk():
    from tasks.pipeline.keywords import stop_words

    items, _ = korean_sample()
    graph, _ = build_graph(items, what_minilm_makes_of_korean(len(items)), min_clusters=3,
                           max_clusters=12, scripts=LATIN)
    for meta in graph["metadata"]["clusters"].values():
        words = {w.lower() for part in meta["name"].split(" / ") for w in part.split()}
        assert words and not words & stop_words(), meta["name"]
        assert not any(w.endswith(("에서", "으로", "는", "를")) for w in words), meta["name"]


def test_korean_sample_cluster_names_describe_most_of_their_members():
    items, _ = korean_sample()
    graph, _ = build_graph(items, what_minilm_makes_of_korean(len(items)), min_clusters=3,
                           max_clusters=12, scripts=LATIN)
    coverage = name_coverage(graph)
    sizes = {c: meta["size"] for c, meta in graph["metadata"]["clusters"].items()}
    weighted = sum(coverage[c] * sizes[c] for c in coverage) / sum(sizes.values())
    assert weighted >= 0.9 and min(coverage.values()) >= 0.7, coverage
