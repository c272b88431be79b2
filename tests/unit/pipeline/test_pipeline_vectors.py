"""Shared helpers: unit rows, unit mean directions and the "a, b and c" phrase."""

from __future__ import annotations

import numpy as np

from tasks.pipeline.phrases import words_phrase
from tasks.pipeline.vectors import l2_normalize, mean_direction


def test_l2_normalize_scales_rows_and_keeps_zero_rows_zero():
    out = l2_normalize(np.array([[3.0, 4.0], [0.0, 0.0]], dtype=np.float32))
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0]])


def test_mean_direction_of_all_rows_or_of_selected_rows():
    x = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    np.testing.assert_allclose(mean_direction(x, [0, 1]), [2**-0.5, 2**-0.5])
    np.testing.assert_allclose(mean_direction(x, np.array([0])), [1.0, 0.0])
    np.testing.assert_allclose(mean_direction(x), [1.0, 0.0])
    np.testing.assert_allclose(mean_direction(x, [1, 2]), [0.0, 0.0])  # cancels out: zero


def test_words_phrase():
    assert words_phrase([]) == ""
    assert words_phrase(["a"]) == "a"
    assert words_phrase(["a", "b"]) == "a and b"
    assert words_phrase(("a", "b", "c")) == "a, b and c"
