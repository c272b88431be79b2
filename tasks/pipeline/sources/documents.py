"""Documents (PDF, DOCX, PPTX, Markdown, plain text) to text sections and ``SourceItem``s.

The PDF, DOCX and PPTX readers (pypdf, python-docx, python-pptx) are imported only when such
a file arrives. Limits on text and on unpacked archive size are checked while reading, so a
small file that expands to gigabytes fails before it holds a worker.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import re
import zipfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from tasks.pipeline.errors import InputError
from tasks.pipeline.parsing import SourceItem, clean_text

#: Document extensions and the ``source_type`` their items get.
DOCUMENT_TYPES = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".pptx": "pptx",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
}
TEXT_EXTENSIONS = frozenset({".md", ".markdown", ".txt"})


ACCEPTED = (
    "accepted: a ChatGPT export (a list of conversations with 'mapping'), notes "
    "({'source_nodes': [...]}), messages (a list of {'role', 'content'} objects, or a list of "
    "such lists), a bundle ({'conversations': [...], 'notes': {...}}), or a file ("
    + ", ".join([*DOCUMENT_TYPES, ".json"])
    + ")"
)

_ATX_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_HSPACE = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_STREAM_REPR = re.compile(r"\s*'?<_io\.BytesIO object at 0x[0-9a-fA-F]+>'?")
#: DOCX and PPTX are zip archives of XML that their readers load whole.
_ARCHIVE_EXTENSIONS = frozenset({".docx", ".pptx"})


class TextBudget:
    """Counts the characters a document's reader extracts and fails the document the moment
    they pass ``max_chars``: a small file that expands to a huge text is refused while it is
    read, before its chunks and entities exist. ``max_chars=None``: no limit."""

    def __init__(self, file_name: str, max_chars: int | None = None) -> None:
        self.file_name = file_name
        self.max_chars = max_chars
        self.used = 0

    def take(self, text: str) -> str:
        self.used += len(text)
        if self.max_chars is not None and self.used > self.max_chars:
            raise InputError(
                f"{self.file_name}: the document's text is longer than the limit of "
                f"{self.max_chars:,} characters (GRAPHNODE_MAX_DOCUMENT_CHARS)")
        return text


def check_expanded_size(raw: bytes, file_name: str, max_bytes: int | None) -> None:
    """Refuse a DOCX or PPTX whose parts expand past ``max_bytes`` before a reader parses it:
    the readers hold the whole XML tree in memory, and deflate compresses repeated markup
    about 1,000 to 1. The sizes come from the archive's directory; zipfile stops reading a
    part at its declared size, so a part cannot lie its way past this check."""
    if max_bytes is None or Path(file_name).suffix.lower() not in _ARCHIVE_EXTENSIONS:
        return
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError):
        return  # not an archive at all: the reader says so in its own words
    if expanded > max_bytes:
        raise InputError(
            f"{file_name}: the document expands to {expanded:,} bytes, over the limit of "
            f"{max_bytes:,} (GRAPHNODE_MAX_DOCUMENT_EXPANDED_BYTES)")


def _tidy(text: str) -> str:
    """Extracted text with runs of spaces collapsed, lines stripped, at most one blank line."""
    lines = (_HSPACE.sub(" ", line).strip() for line in text.replace("\r", "\n").split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _decode(raw: bytes, file_name: str) -> str:
    """UTF-8 text (a BOM is dropped); other encodings fail loudly rather than as mojibake."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{file_name}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at position {exc.start})"
        ) from exc


def _text_sections(raw: bytes, file_name: str,
                   budget: TextBudget) -> tuple[str | None, list[str]]:
    """Markdown or plain text split at ATX headings outside code fences; title = first heading.

    Splitting before cleaning keeps a fence from swallowing the sections after it. Markdown is
    cleaned with ``clean_text``; plain text only has its whitespace tidied.
    """
    markdown = Path(file_name).suffix.lower() != ".txt"
    title: str | None = None
    sections: list[list[str]] = [[]]
    in_fence = False
    for line in budget.take(_decode(raw, file_name)).splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        heading = None if in_fence else _ATX_HEADING.match(line)
        if heading:
            if title is None:
                title = clean_text(heading.group(1)) or None
            if any(s.strip() for s in sections[-1]):
                sections.append([])
        sections[-1].append(line)
    tidy = clean_text if markdown else _tidy
    return title, [t for t in (tidy("\n".join(s)) for s in sections) if t]


@contextlib.contextmanager
def _logged_warnings(logger_name: str) -> Iterator[list[str]]:
    """Collect a library's logged warnings, to explain why it then failed."""
    messages: list[str] = []

    class Collector(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    handler = Collector(logging.WARNING)
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)


def _unreadable(file_name: str, kind: str, exc: Exception, notes: Sequence[str] = ()) -> InputError:
    """``report.pdf: not a readable PDF (EOF marker not found; ...)``."""
    # python-docx/pptx name the stream by its repr: "file '<_io.BytesIO object at 0x..>'".
    reason = _STREAM_REPR.sub("", str(exc)) or type(exc).__name__
    reasons = [*notes, reason]
    return InputError(f"{file_name}: not a readable {kind} ({'; '.join(dict.fromkeys(reasons))})")


def _pdf_sections(raw: bytes, file_name: str,
                  budget: TextBudget) -> tuple[str | None, list[str]]:
    """One section per page with text. The title is left to the file name: PDF metadata
    titles are mostly producer leftovers ("Microsoft Word - Document1")."""
    from pypdf import PdfReader

    with _logged_warnings("pypdf") as warnings:
        try:
            reader = PdfReader(io.BytesIO(raw))
            if reader.is_encrypted and not reader.decrypt(""):
                raise InputError(f"{file_name}: the PDF is password-protected")
            pages = [budget.take(page.extract_text() or "") for page in reader.pages]
        except InputError:
            raise
        except Exception as exc:  # corrupt files raise anything: PdfReadError, KeyError, ...
            raise _unreadable(file_name, "PDF", exc, warnings[:2]) from exc
    return None, [t for t in map(_tidy, pages) if t]


def _docx_blocks(document: Any) -> Iterator[tuple[bool, str]]:
    """``(is_heading, text)`` for the body's paragraphs and table rows, in document order."""
    for block in document.iter_inner_content():
        if hasattr(block, "rows"):  # a table: one line per row, merged cells once
            for row in block.rows:
                cells = dict.fromkeys(c.text.strip() for c in row.cells if c.text.strip())
                if cells:
                    yield False, " | ".join(cells)
            continue
        style = block.style.name if block.style is not None else ""
        text = block.text.strip()
        if text:
            yield style == "Title" or style.startswith("Heading"), text


def _docx_sections(raw: bytes, file_name: str,
                   budget: TextBudget) -> tuple[str | None, list[str]]:
    """Sections start at each Title/Heading paragraph; the title is the first of them."""
    import docx

    try:
        blocks = [(heading, budget.take(text))
                  for heading, text in _docx_blocks(docx.Document(io.BytesIO(raw)))]
    except InputError:
        raise
    except Exception as exc:  # BadZipFile, KeyError for a missing part, ValueError, ...
        raise _unreadable(file_name, "DOCX", exc) from exc
    title = next((text for heading, text in blocks if heading), None)
    sections: list[list[str]] = [[]]
    for heading, text in blocks:
        if heading and sections[-1]:
            sections.append([])
        sections[-1].append(text)
    return title, [t for t in ("\n".join(s) for s in sections) if t]


def _shape_texts(shape: Any) -> Iterator[str]:
    """Text of a slide shape: text frames, table cells, and shapes inside groups."""
    if hasattr(shape, "shapes"):  # a group
        for child in shape.shapes:
            yield from _shape_texts(child)
    elif shape.has_text_frame:
        yield shape.text_frame.text
    elif getattr(shape, "has_table", False):
        for row in shape.table.rows:
            yield " | ".join(c.text.strip() for c in row.cells if c.text.strip())


def _pptx_sections(raw: bytes, file_name: str,
                   budget: TextBudget) -> tuple[str | None, list[str]]:
    """One section per slide (speaker notes included); the title is the first slide title.

    Core properties are ignored: python-pptx stamps "PowerPoint Presentation" on every file.
    """
    import pptx

    title: str | None = None
    sections: list[str] = []
    try:
        for slide in pptx.Presentation(io.BytesIO(raw)).slides:
            texts = [t for shape in slide.shapes for t in _shape_texts(shape)]
            if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
                texts.append(slide.notes_slide.notes_text_frame.text)
            heading = slide.shapes.title
            if title is None and heading is not None and heading.text.strip():
                title = heading.text.strip()
            sections.append(budget.take(_tidy("\n".join(texts))))
    except InputError:
        raise
    except Exception as exc:  # BadZipFile, KeyError, "not a PowerPoint file" ValueError, ...
        raise _unreadable(file_name, "PPTX", exc) from exc
    return title, [s for s in sections if s]


_READERS: dict[str, Callable[[bytes, str, TextBudget], tuple[str | None, list[str]]]] = {
    ".pdf": _pdf_sections,
    ".docx": _docx_sections,
    ".pptx": _pptx_sections,
    ".md": _text_sections,
    ".markdown": _text_sections,
    ".txt": _text_sections,
}


def _document_sections(
    raw: bytes, file_name: str, max_chars: int | None = None,
    max_expanded_bytes: int | None = None,
) -> tuple[str | None, list[str]]:
    """``(title or None, non-empty sections)`` of any supported document, refused past
    ``max_chars`` of text or ``max_expanded_bytes`` of unpacked DOCX/PPTX archive."""
    suffix = Path(file_name).suffix.lower()
    reader = _READERS.get(suffix)
    if reader is None:
        what = f"file type {suffix!r}" if suffix else "file without an extension"
        raise InputError(f"{file_name}: unsupported {what}; {ACCEPTED}")
    if not raw:
        raise InputError(f"{file_name}: the file is empty (0 bytes)")
    check_expanded_size(raw, file_name, max_expanded_bytes)
    title, sections = reader(bytes(raw), file_name, TextBudget(file_name, max_chars))
    if not sections:
        hint = " (a scanned PDF needs OCR first)" if suffix == ".pdf" else ""
        raise InputError(f"{file_name}: no text found{hint}")
    return title, sections


def extract_document_text(raw: bytes, file_name: str, *, max_chars: int | None = None,
                          max_expanded_bytes: int | None = None) -> str:
    """All text of a PDF, DOCX, PPTX, Markdown or text file, sections separated by blank lines.

    Raises ``InputError`` naming the file for an unsupported extension, an empty or corrupt
    file, one without any text, or one over ``max_chars`` of text (checked while reading) or
    ``max_expanded_bytes`` unpacked (checked before a DOCX or PPTX is parsed).
    """
    return "\n\n".join(_document_sections(raw, file_name, max_chars, max_expanded_bytes)[1])


def parse_document(raw: bytes, file_name: str) -> list[SourceItem]:
    """One ``SourceItem`` for a document: sections are pages, slides or heading blocks.

    The id is a hash of the bytes (the same upload gives the same node); the title is the
    first heading or slide title, else the file name without extension.
    """
    title, sections = _document_sections(raw, file_name)
    suffix = Path(file_name).suffix.lower()
    return [
        SourceItem(
            id=f"doc-{hashlib.sha256(raw).hexdigest()[:16]}",
            title=title or Path(file_name).stem or file_name,
            text="\n\n".join(sections),
            timestamp=None,
            num_sections=len(sections),
            source_type=DOCUMENT_TYPES[suffix],
        )
    ]


def parse_text_document(raw: bytes, file_name: str) -> list[SourceItem]:
    """A Markdown (.md) or plain-text (.txt) file as one ``SourceItem``.

    Text must be UTF-8; Markdown markup is removed with ``clean_text``. The title is the
    first ``#`` heading, else the file stem.
    """
    suffix = Path(file_name).suffix.lower()
    if suffix not in TEXT_EXTENSIONS:
        raise InputError(
            f"{file_name}: not a Markdown or text file (expected .md, .markdown or .txt)"
        )
    return parse_document(raw, file_name)
