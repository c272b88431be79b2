"""Small numpy helpers on embedding rows shared by the pipeline stages (numpy only)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def l2_normalize(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, as float64; zero rows stay zero instead of becoming NaN."""
    x = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms == 0, 1.0, norms)


def mean_direction(x: np.ndarray, rows: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
    """Unit mean direction (1-d, float64) of ``x``'s rows, or of the rows ``rows`` selects."""
    picked = x if rows is None else x[rows]
    return l2_normalize(picked.sum(axis=0, keepdims=True))[0]
