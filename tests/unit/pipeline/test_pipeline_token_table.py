"""The token table: exact vectors of single-token terms, built once and shared through a file."""

from __future__ import annotations

import fcntl
from types import SimpleNamespace

import numpy as np
import pytest

from tasks.pipeline import token_table
from tasks.pipeline.embedding import DEFAULT_MODEL, Embedder, get_embedder
from tasks.pipeline.token_table import TokenTable, compute_vectors


class FakeModel:
    """What TokenTable reads of a model: its tokenizer's size and its dimension."""

    def __init__(self, vocabulary: int = 40) -> None:
        self.tokenizer = [None] * vocabulary

    def get_sentence_embedding_dimension(self) -> int:
        return 4


@pytest.fixture()
def builds(monkeypatch):
    """Counts the builds; each token's vector is its id in every slot."""
    calls: list[int] = []

    def fake_compute(model, token_ids):
        calls.append(len(token_ids))
        return np.repeat(token_ids[:, None].astype(np.float32), 4, axis=1)

    monkeypatch.setattr(token_table, "compute_vectors", fake_compute)
    return calls


def test_the_first_process_builds_the_table_in_the_background_and_keeps_it(tmp_path, builds):
    table = TokenTable(tmp_path)
    first = table.vectors(FakeModel(), "model-a")
    assert table.wait(10)
    vectors = table.vectors(FakeModel(), "model-a")
    assert first is None or first is vectors  # not waited for
    assert vectors.shape == (40, 4) and vectors[7, 0] == 7
    assert builds == [40]
    [kept] = tmp_path.glob("token-vectors-*.npy")
    # Another process finds it at once; another model gets a table of its own.
    assert TokenTable(tmp_path).vectors(FakeModel(), "model-a")[7, 0] == 7
    assert builds == [40]
    other = TokenTable(tmp_path)
    other.vectors(FakeModel(), "model-b")
    other.wait(10)
    assert builds == [40, 40] and len(list(tmp_path.glob("token-vectors-*.npy"))) == 2
    assert kept.exists()


def test_a_table_being_built_elsewhere_is_picked_up_when_its_file_appears(tmp_path, builds):
    path = tmp_path / f"token-vectors-{token_table.table_key('model-a', 40, 4)}.npy"
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another process is building it
        waiting = TokenTable(tmp_path)
        assert waiting.vectors(FakeModel(), "model-a") is None
        assert waiting.wait(10) and builds == []  # left to the lock's holder
        np.save(path, np.ones((40, 4), np.float32))  # which finishes
    assert waiting.vectors(FakeModel(), "model-a") is not None


def test_a_table_finished_while_waiting_for_the_lock_is_loaded_not_built_again(tmp_path,
                                                                              builds):
    table = TokenTable(tmp_path)
    table._shape = (40, 4)
    path = tmp_path / "token-vectors-finished.npy"
    np.save(path, np.full((40, 4), 2, np.float32))  # saved after this process looked for it
    table._build(FakeModel(), path, 40)
    assert builds == [] and table._vectors[0, 0] == 2


def test_a_table_of_the_wrong_shape_is_not_used(tmp_path, builds):
    path = tmp_path / f"token-vectors-{token_table.table_key('model-a', 40, 4)}.npy"
    np.save(path, np.ones((39, 4), np.float32))
    assert TokenTable(tmp_path).vectors(FakeModel(), "model-a") is None


def test_no_table_for_a_large_vocabulary(tmp_path, builds):
    big = TokenTable(tmp_path)
    assert big.vectors(FakeModel(token_table.MAX_VOCABULARY + 1), "multilingual") is None
    assert big.wait(0) and builds == []


def test_an_unwritable_cache_still_gives_this_process_its_table(tmp_path, builds):
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    table = TokenTable(blocked / "cache")
    table.vectors(FakeModel(), "model-a")
    assert table.wait(10)
    assert table.vectors(FakeModel(), "model-a")[7, 0] == 7
    assert builds == [40]


@pytest.fixture(scope="module")
def minilm() -> Embedder:
    return get_embedder(DEFAULT_MODEL, "cpu")


def test_token_vectors_are_what_encode_gives_a_one_token_term(minilm):
    terms = ["pension", "oscar", "sourdough", "김"]
    ids = minilm.model.tokenizer(terms, add_special_tokens=False)["input_ids"]
    single = [(t, i[0]) for t, i in zip(terms, ids, strict=True) if len(i) == 1]
    assert {t for t, _ in single} >= {"pension", "oscar"}
    vectors = compute_vectors(minilm.model, np.array([i for _, i in single]))
    np.testing.assert_allclose(vectors, minilm.encode([t for t, _ in single]), atol=1e-5)


def test_encode_terms_looks_up_one_token_terms_and_encodes_the_rest(minilm, monkeypatch):
    terms = ["pension", "oscar", "interest rates", "sourdough"]
    expected = minilm.encode(terms)
    ids = minilm.model.tokenizer(terms, add_special_tokens=False)["input_ids"]
    table = np.zeros((len(minilm.model.tokenizer), 384), np.float32)
    for row, i in zip(expected, ids, strict=True):
        if len(i) == 1:
            table[i[0]] = row
    monkeypatch.setattr(minilm, "token_table", SimpleNamespace(vectors=lambda *_: table))
    encoded: list[list[str]] = []
    original = minilm.encode
    monkeypatch.setattr(minilm, "encode", lambda texts: encoded.append(list(texts))
                        or original(texts))
    minilm.forget_terms()
    np.testing.assert_allclose(minilm.encode_terms(terms), expected, atol=1e-5)
    assert encoded == [[t for t, i in zip(terms, ids, strict=True) if len(i) > 1]]
    minilm.forget_terms()
