"""A document cut into overlapping chunks, and what the extractors find in one chunk.

Chunks overlap so that a sentence cut by one window is whole in the next; offsets index the
original text, so mentions and evidence point back into the document.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from tasks.pipeline.errors import InputError


@dataclass(frozen=True)
class Chunk:
    """A window of the document; ``text == document[start:end]``."""

    id: str
    text: str
    start: int
    end: int


_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+|(?<=[。！？])\s*|\n\s*")
_WORD_BREAK = re.compile(r"\s+")


def _break_points(pattern: re.Pattern[str], text: str) -> list[int]:
    """Offsets where a new paragraph / sentence / word starts (just after the break)."""
    return [m.end() for m in pattern.finditer(text)]


def _last_in(points: list[int], lo: int, hi: int) -> int | None:
    """The largest point in ``[lo, hi]``."""
    i = bisect.bisect_right(points, hi) - 1
    return points[i] if i >= 0 and points[i] >= lo else None


def _first_in(points: list[int], lo: int, hi: int) -> int | None:
    """The smallest point in ``[lo, hi)``."""
    i = bisect.bisect_left(points, lo)
    return points[i] if i < len(points) and points[i] < hi else None


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def chunk_document(text: str, chunk_chars: int = 1200, overlap: int = 200,
                   max_chunks: int | None = None) -> list[Chunk]:
    """Overlapping windows of at most ``chunk_chars`` characters covering every word of ``text``.

    A window ends at the last paragraph break in its second half, else the last sentence end,
    else the last space; the next one starts at the first sentence (else word) start within
    ``overlap`` characters before that end, so a sentence cut by one window is whole in the
    next. Offsets index the original text; surrounding whitespace is trimmed. More than
    ``max_chunks`` windows fail the document as soon as the next one would be made.
    """
    if not isinstance(text, str) or not text.strip():
        raise InputError("document: the text is empty")
    if chunk_chars < 1:
        raise InputError(f"document: chunk_chars must be positive, got {chunk_chars}")
    if not 0 <= overlap < chunk_chars:
        raise InputError(f"document: overlap must be in [0, {chunk_chars}), got {overlap}")
    levels = [_break_points(p, text) for p in (_PARAGRAPH_BREAK, _SENTENCE_BREAK, _WORD_BREAK)]
    chunks: list[Chunk] = []
    last = len(text.rstrip())
    start = _skip_space(text, 0)
    while start < last:
        if max_chunks is not None and len(chunks) >= max_chunks:
            raise InputError(f"document: more than the limit of {max_chunks:,} chunks "
                             "(GRAPHNODE_MAX_DOCUMENT_CHUNKS)")
        hard = start + chunk_chars
        if hard >= len(text):
            end = len(text)
        else:
            lo = start + chunk_chars // 2
            cuts = (_last_in(points, lo, hard) for points in levels)
            end = next((c for c in cuts if c is not None), hard)
        stop = len(text[start:end].rstrip()) + start
        chunks.append(Chunk(f"chunk-{len(chunks)}", text[start:stop], start, stop))
        if end >= last:
            break
        nxt = end
        if overlap:
            lo = max(end - overlap, start + max(1, (chunk_chars - overlap) // 2))
            starts = (_first_in(points, lo, end) for points in levels[1:])
            nxt = next((s for s in starts if s is not None), lo)
        start = _skip_space(text, nxt)
    return chunks


@dataclass
class ChunkFinding:
    """What one chunk yielded: entities (with mentions) and relations, before merging."""

    chunk: Chunk
    method: str
    #: key -> (type, {document offset (or -1 - chunk index when not located): surface})
    entities: dict[str, tuple[str, dict[int, str]]] = field(default_factory=dict)
    #: (source key, relation type, target key)
    relations: list[tuple[str, str, str]] = field(default_factory=list)
