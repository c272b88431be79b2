"""Every input GraphNode accepts, parsed to ``SourceItem``s, with errors that name the culprit.

Formats: ChatGPT exports (``parsing.parse_chatgpt_export``), flat message lists, notes
(``{"source_nodes": [...]}``), a bundle of conversations and notes, and documents (PDF, DOCX,
PPTX, Markdown, plain text). ``parse_input`` tells them apart; the rest of the pipeline only
ever sees ``SourceItem``s. PDF, DOCX and PPTX readers (pypdf, python-docx, python-pptx) are
imported only when such a file arrives.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import re
import zipfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from graphnode.contract import BUNDLE_KEYS
from tasks.pipeline.errors import InputError
from tasks.pipeline.parsing import (
    KEPT_ROLES,
    SourceItem,
    clean_text,
    content_id,
    parse_chatgpt_export,
    timestamp_of,
    unique_ids,
)

#: Roles that carry no user knowledge (prompts, tool output): dropped without complaint.
SKIPPED_ROLES = frozenset({"system", "tool", "function", "developer"})
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
# BUNDLE_KEYS (the keys that make a JSON object a bundle of several formats) is shared
# with the API, which checks a request's shape before accepting it.
#: Longest title derived from a first message.
TITLE_CHARS = 80
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


def _kind(value: object) -> str:
    """How error messages describe an unexpected value: its JSON-ish type name."""
    return type(value).__name__


def _named(label: str, value: object) -> str:
    """``label`` with the item's id or title appended when it has a usable one."""
    return f"{label} ({value!r})" if isinstance(value, str | int) and str(value) else label


def _short_title(text: str) -> str:
    """A title from free text: its first line, cleaned, cut at a word near ``TITLE_CHARS``."""
    first = clean_text(text.strip().splitlines()[0]) if text.strip() else ""
    if len(first) <= TITLE_CHARS:
        return first or "Untitled"
    cut = first[:TITLE_CHARS].rsplit(" ", 1)[0]
    return cut + "…"


# --- flat message lists ---------------------------------------------------------------------


def _message_content(content: object, label: str) -> str:
    """Text of a message's ``content``: a string, or a list of strings / ``{"text"}`` parts.

    ``None`` is allowed (assistant messages that only call tools); non-text parts (images)
    are ignored.
    """
    if content is None:
        return ""
    if isinstance(content, str):
        return content.strip()
    if isinstance(content, list):
        texts = [
            part if isinstance(part, str) else part.get("text")
            for part in content
            if isinstance(part, str) or isinstance(part, dict)
        ]
        return "\n".join(t.strip() for t in texts if isinstance(t, str) and t.strip())
    raise InputError(
        f"{label}: field 'content' must be a string or a list of parts, got {_kind(content)}"
    )


def _message_role(message: dict[str, Any], label: str) -> str:
    """The lower-cased role; unknown roles are errors, since a typo would silently drop text."""
    role = message.get("role")
    if role is None:
        raise InputError(f"{label}: field 'role' is missing")
    if not isinstance(role, str):
        raise InputError(f"{label}: field 'role' must be a string, got {_kind(role)}")
    role = role.strip().lower()
    if role not in KEPT_ROLES | SKIPPED_ROLES:
        known = ", ".join(sorted(KEPT_ROLES | SKIPPED_ROLES))
        raise InputError(f"{label}: field 'role' is {role!r}, expected one of {known}")
    return role


def _message_conversation(messages: list[object], prefix: str) -> SourceItem | None:
    """One list of messages to a ``SourceItem``; ``None`` when no user/assistant text."""
    sections: list[str] = []
    first_user = ""
    first_id: str | None = None
    stamp: float | None = None
    for i, message in enumerate(messages):
        label = f"{prefix}message {i}"
        if not isinstance(message, dict):
            raise InputError(f"{label}: must be an object, got {_kind(message)}")
        label = _named(label, message.get("id"))
        role = _message_role(message, label)
        raw_id = message.get("id")
        if first_id is None and isinstance(raw_id, str | int) and str(raw_id):
            first_id = str(raw_id)
        text = _message_content(message.get("content"), label)
        if role not in KEPT_ROLES or not text:
            continue
        sections.append(text)
        if role == "user" and not first_user:
            first_user = text
        if stamp is None:
            for key in ("create_time", "created_at", "timestamp"):
                stamp = timestamp_of(message.get(key))
                if stamp is not None:
                    break
    if not sections:
        return None
    text = "\n\n".join(sections)
    return SourceItem(
        id=first_id or content_id("messages", text),
        title=_short_title(first_user or sections[0]),
        text=text,
        timestamp=stamp,
        num_sections=len(sections),
        source_type="chat",
    )


def parse_messages(data: object) -> list[SourceItem]:
    """Flat message lists (``[{"id", "role", "content"}]``) to one item per conversation.

    ``data`` is one conversation (a list of message objects) or a list of them. Only user and
    assistant text is kept; system, tool, function and developer messages are skipped. The
    item id is the first message's id (stable as a conversation grows), its title the first
    user message.
    """
    if not isinstance(data, list):
        raise InputError(
            f"messages: must be a list of messages or a list of message lists, got {_kind(data)}"
        )
    if not data:
        raise InputError("messages: the list is empty")
    nested = isinstance(data[0], list)
    conversations = data if nested else [data]
    items: list[SourceItem] = []
    for index, conv in enumerate(conversations):
        if not isinstance(conv, list):
            raise InputError(
                f"conversation {index}: must be a list of messages, got {_kind(conv)}"
            )
        item = _message_conversation(conv, f"conversation {index}, " if nested else "")
        if item is not None:
            items.append(item)
    if not items:
        raise InputError(
            f"messages: none of the {len(conversations)} conversations has any user or "
            "assistant text"
        )
    return unique_ids(items)


# --- notes ----------------------------------------------------------------------------------


def _optional_str(node: dict[str, Any], key: str, label: str) -> str | None:
    """``node[key]`` stripped, ``None`` when absent; any other type is an error."""
    value = node.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"{label}: field {key!r} must be a string, got {_kind(value)}")
    return value.strip()


def _note(index: int, node: object) -> SourceItem | None:
    """One source node to a ``SourceItem``; ``None`` when it has neither title nor content."""
    if not isinstance(node, dict):
        raise InputError(f"source node {index}: must be an object, got {_kind(node)}")
    label = f"source node {index}"
    raw_title = node.get("title")
    label = _named(label, raw_title if isinstance(raw_title, str) and raw_title else None)
    raw_id = node.get("id")
    if raw_id is not None and (isinstance(raw_id, bool) or not isinstance(raw_id, str | int)):
        raise InputError(f"{label}: field 'id' must be a string or an integer, got {_kind(raw_id)}")
    title = _optional_str(node, "title", label) or ""
    sections = node.get("sections")
    if sections is None:
        sections = []
    if not isinstance(sections, list):
        raise InputError(f"{label}: field 'sections' must be a list, got {_kind(sections)}")
    contents: list[str] = []
    for j, section in enumerate(sections):
        where = f"{label}: section {j}"
        if not isinstance(section, dict):
            raise InputError(f"{where}: must be an object, got {_kind(section)}")
        content = _optional_str(section, "content", _named(where, section.get("id")))
        if content:
            contents.append(content)
    if not title and not contents:
        return None
    source_type = _optional_str(node, "source_type", label) or "note"
    stamp = timestamp_of(node.get("create_time"))
    if stamp is None:
        stamp = timestamp_of(node.get("update_time"))
    text = "\n\n".join([title, *contents] if title else contents)
    return SourceItem(
        id=str(raw_id) if raw_id is not None and str(raw_id) else content_id("note", title, text),
        title=title or _short_title(contents[0]),
        text=text,
        timestamp=stamp,
        num_sections=len(sections),
        source_type=source_type,
    )


def parse_notes(data: object) -> list[SourceItem]:
    """``{"source_nodes": [{"id", "title", "sections": [{"id", "content"}], ...}]}`` to items.

    One item per source node: text is the title then each section's content, ``num_sections``
    is ``len(sections)``, ``source_type`` defaults to ``"note"``. Nodes with no text at all
    are dropped, like empty conversations.
    """
    if not isinstance(data, dict):
        raise InputError(f"notes: must be an object with 'source_nodes', got {_kind(data)}")
    nodes = data.get("source_nodes")
    if nodes is None:
        raise InputError("notes: field 'source_nodes' is missing")
    if not isinstance(nodes, list):
        raise InputError(f"notes: field 'source_nodes' must be a list, got {_kind(nodes)}")
    if not nodes:
        raise InputError("notes: field 'source_nodes' is empty")
    items = [item for i, node in enumerate(nodes) if (item := _note(i, node)) is not None]
    if not items:
        raise InputError(f"notes: none of the {len(nodes)} source nodes has a title or content")
    return unique_ids(items)


# --- documents ------------------------------------------------------------------------------


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


# --- dispatch -------------------------------------------------------------------------------


def _within(label: str, parse: Callable[[Any], list[SourceItem]], data: object) -> list[SourceItem]:
    """Run ``parse`` and prefix its errors with where in a bundle the data came from."""
    try:
        return parse(data)
    except InputError as exc:
        raise InputError(f"{label}: {exc}") from exc


def _parse_bundle(data: dict[str, Any]) -> list[SourceItem]:
    """``{"conversations": [...], "notes": {...} | [...], "source_nodes": [...]}``, concatenated.

    Empty parts are fine (a user may have no notes yet); a malformed part fails the whole
    bundle, its error prefixed with the part's key.
    """
    items: list[SourceItem] = []
    conversations = data.get("conversations")
    if conversations is not None:
        if not isinstance(conversations, list):
            raise InputError(
                f"bundle: field 'conversations' must be a list, got {_kind(conversations)}"
            )
        if conversations:
            items += _within("bundle 'conversations'", _parse_json, conversations)
    notes = data.get("notes")
    if isinstance(notes, list):
        notes = {"source_nodes": notes}
    if notes is not None:
        if not isinstance(notes, dict):
            raise InputError(f"bundle: field 'notes' must be an object, got {_kind(notes)}")
        if notes.get("source_nodes") != []:
            items += _within("bundle 'notes'", parse_notes, notes)
    nodes = data.get("source_nodes")
    if nodes is not None and nodes != []:
        items += _within("bundle 'source_nodes'", parse_notes, {"source_nodes": nodes})
    if not items:
        raise InputError("bundle: has no conversations or notes")
    return unique_ids(items)


def _parse_json(data: object) -> list[SourceItem]:
    """Decoded JSON to items, by shape; anything unrecognised says what is accepted."""
    if isinstance(data, list):
        if not data:
            raise InputError(f"input: the list is empty; {ACCEPTED}")
        first = data[0]
        if isinstance(first, dict) and "mapping" in first:
            return parse_chatgpt_export(data)
        if isinstance(first, list) or (isinstance(first, dict) and "role" in first):
            return parse_messages(data)
        shape = f"an object with keys {sorted(first)[:8]}" if isinstance(first, dict) else (
            f"a {_kind(first)}"
        )
        raise InputError(f"input: unrecognised list, element 0 is {shape}; {ACCEPTED}")
    if isinstance(data, dict):
        if "mapping" in data:  # a single ChatGPT conversation
            return parse_chatgpt_export([data])
        keys = BUNDLE_KEYS & data.keys()
        if keys == {"source_nodes"}:
            return parse_notes(data)
        if keys:
            return _parse_bundle(data)
        raise InputError(f"input: unrecognised object with keys {sorted(data)[:8]}; {ACCEPTED}")
    raise InputError(f"input: unrecognised {_kind(data)}; {ACCEPTED}")


def _load_json(raw: bytes, name: str) -> object:
    """Decoded JSON, or an ``InputError`` naming the file and the parser's complaint."""
    try:
        return json.loads(_decode(raw, name))
    except json.JSONDecodeError as exc:
        hint = "; pass file_name for a document" if name == "input" else ""
        raise InputError(f"{name}: not valid JSON ({exc}){hint}") from exc


def parse_input(data: object | bytes, file_name: str | None = None) -> list[SourceItem]:
    """Any accepted input to ``SourceItem``s: the single entry point for the tasks.

    Bytes with a file name are read by extension (``.json`` is decoded and dispatched like
    data; documents give one item each); bytes without a name must be JSON. Decoded JSON is
    recognised by shape: ChatGPT export, notes, flat messages, or a bundle of them.
    """
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
        if file_name is None:
            return _parse_json(_load_json(raw, "input"))
        if Path(file_name).suffix.lower() == ".json":
            return _parse_json(_load_json(raw, file_name))
        return parse_document(raw, file_name)
    return _parse_json(data)
