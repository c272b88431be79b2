"""Cluster keywords (c-TF-IDF), node keywords (TF-IDF + MMR) and cluster names."""

from __future__ import annotations

import numpy as np
import pytest

from tasks.pipeline.keywords import (
    FALLBACK_NAME,
    cluster_keywords,
    cluster_name,
    ctfidf,
    mmr_select,
    node_keywords,
    specificity,
    term_similarity,
)

TOY = [
    "My sourdough starter smells sour. How often should I feed the sourdough starter flour?",
    "Baking sourdough bread: the starter needs rye flour and a warm kitchen for baking.",
    "Why is my sourdough bread dense? Baking tips for a better sourdough crumb and starter.",
    "Manchester United won the football match with a late goal from the striker.",
    "The football league table after the match: the striker scored twice, goal of the season.",
    "Football transfer news: the club signed a new striker before the match.",
    "Python list comprehension vs for loop performance in Python code.",
    "How do I read a CSV file in Python with pandas and write the dataframe?",
    "Python async code: asyncio event loop and coroutines explained.",
]
TOY_LABELS = [0, 0, 0, 1, 1, 1, 2, 2, 2]


def test_cluster_keywords_find_each_topic():
    words = cluster_keywords(TOY, TOY_LABELS, top_n=8)
    assert set(words) == {0, 1, 2}
    assert all(len(w) == 8 for w in words.values())
    assert words[0][:2] == ["sourdough", "starter"]
    assert words[1][0] == "football" and "striker" in words[1]
    assert words[2][0] == "python"
    assert not {"the", "and", "my", "how"} & {w for ws in words.values() for w in ws}
    assert any(" " in w for w in words[0])  # bigrams are considered


def test_words_common_to_every_cluster_are_not_keywords():
    texts = [f"said {topic} {topic} said report" for topic in ("tennis", "budget", "film")]
    words = cluster_keywords(texts * 2, [0, 1, 2, 0, 1, 2], top_n=3)
    assert [w[0] for w in words.values()] == ["tennis", "budget", "film"]
    assert not {"said", "report", "said report"} & {w for ws in words.values() for w in ws}


def test_a_single_cluster_still_gets_keywords_and_degenerate_input_does_not_crash():
    assert cluster_keywords(TOY[:3], [4, 4, 4], top_n=2) == {4: ["sourdough", "starter"]}
    assert cluster_keywords(["the and of", "12 34"], [0, 1]) == {0: [], 1: []}
    assert cluster_keywords([], []) == {}


def test_ctfidf_matches_the_formula():
    counts = np.array([[4.0, 0.0, 1.0], [0.0, 2.0, 1.0]])
    avg_words = counts.sum() / 2  # 4
    expected = (counts / counts.sum(axis=1, keepdims=True)) * np.log(
        1 + avg_words / counts.sum(axis=0)
    )
    np.testing.assert_allclose(ctfidf(counts), expected)


def test_specificity_is_zero_for_evenly_spread_terms():
    counts = np.array([[5.0, 5.0, 0.0], [5.0, 0.0, 5.0]])
    spec = specificity(counts)
    assert spec[0, 0] == spec[1, 0] == 0.0
    assert spec[0, 1] == pytest.approx(np.log(2))
    np.testing.assert_array_equal(specificity(counts[:1]), np.ones((1, 3)))


def test_node_keywords_are_per_document_and_diverse():
    words = node_keywords(TOY, top_n=5)
    assert len(words) == len(TOY)
    assert all(1 <= len(w) <= 5 for w in words)
    assert "csv" in words[7] and "pandas" in words[7]
    for doc in words:
        for i, a in enumerate(doc):
            for b in doc[i + 1 :]:
                assert term_similarity(a, b) < 1.0, (a, b)
    assert node_keywords([]) == []
    assert node_keywords(["the of and", "a"]) == [[], []]


def test_mmr_skips_contained_terms_and_prefers_new_words():
    picked = mmr_select(
        ["sourdough", "sourdough starter", "starter sourdough", "rye flour", "rye"],
        [1.0, 0.95, 0.9, 0.6, 0.5],
        top_n=3,
    )
    assert picked == ["sourdough", "rye flour"]
    assert mmr_select([], [], 3) == []


def test_cluster_name():
    assert cluster_name(["sourdough", "baking", "sourdough starter", "starter", "flour"]) == (
        "Sourdough / Baking / Starter"
    )
    assert cluster_name(["awards", "award", "film", "best"]) == "Awards / Film / Best"
    assert cluster_name(["machine learning", "GPU", "learning"]) == "Machine Learning / GPU"
    assert cluster_name(["", "art", "start"]) == "Art / Start"  # words, not substrings
    assert cluster_name([]) == FALLBACK_NAME
