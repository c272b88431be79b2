"""Wording helpers shared by the stages that write sentences for people (stdlib only)."""

from __future__ import annotations

from collections.abc import Sequence


def words_phrase(words: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``; empty for no words."""
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} and {words[-1]}"
