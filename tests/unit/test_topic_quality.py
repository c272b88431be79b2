"""The measures benchmarks/chat_histories.py reports: NPMI, diversity, same-origin edges."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tasks.pipeline.parsing import SourceItem

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "topic_quality.py"
_SPEC = importlib.util.spec_from_file_location("topic_quality", _PATH)
quality = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(quality)

CORPUS = ["bread oven flour", "bread oven", "football goal", "football goal referee",
          "bread goal"]


def test_npmi_is_one_for_words_always_together_and_minus_one_for_words_never_together():
    assert quality.npmi([["football", "goal"]], CORPUS[2:4]) == pytest.approx(1.0)
    assert quality.npmi([["flour", "referee"]], CORPUS) == -1.0
    # Topics of words that go together score above topics of words that do not.
    together = quality.npmi([["bread", "oven"], ["football", "goal"]], CORPUS)
    apart = quality.npmi([["bread", "referee"], ["oven", "football"]], CORPUS)
    assert together > 0 > apart


def test_topic_words_cut_phrases_and_diversity_counts_shared_words():
    assert quality.topic_words(["Prime Minister", "minister", "tax"], 10) == [
        "prime", "minister", "tax"]
    assert quality.diversity([["alpha", "beta"], ["gamma", "delta"]]) == 1.0
    assert quality.diversity([["bread", "oven"], ["bread", "goal"]]) == 0.75


def test_same_origin_precision_and_recall_of_split_documents():
    items = [SourceItem(id=f"d{i}", title=f"T{i}", text="one\ntwo\nthree\nfour", timestamp=None,
                        num_sections=1) for i in range(3)]
    halves, origin = quality.split_documents(items)
    assert [h.id for h in halves] == ["d0-0", "d0-1", "d1-0", "d1-1", "d2-0", "d2-1"]
    assert origin == [0, 0, 1, 1, 2, 2] and halves[1].text == "three\nfour"
    origin_of = {h.id: o for h, o in zip(halves, origin, strict=True)}
    edges = [{"source": "d0-0", "target": "d0-1", "confidence": "high"},
             {"source": "d0-0", "target": "d1-0", "confidence": "low"}]
    scores = quality.same_origin_scores(edges, origin_of)
    assert scores["precision"] == 0.5 and scores["recall"] == pytest.approx(1 / 3)
    assert scores["low_share"] == 0.5 and scores["isolated"] == 3
