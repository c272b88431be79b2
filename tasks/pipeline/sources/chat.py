"""The JSON chat formats to ``SourceItem``s: flat message lists, notes, and bundles of them
with ChatGPT exports (``parsing.parse_chatgpt_export``), recognised by shape.

Errors name the item and field at fault, so a user can fix the export rather than guess.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphnode.contract.exports import ExportFormat, export_format
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
from tasks.pipeline.sources.claude import parse_claude_export
from tasks.pipeline.sources.documents import ACCEPTED
from tasks.pipeline.sources.gemini import parse_gemini_activity

#: Roles that carry no user knowledge (prompts, tool output): dropped without complaint.
SKIPPED_ROLES = frozenset({"system", "tool", "function", "developer"})


# The shapes (graphnode.contract.exports) are shared
# with the API, which checks a request's shape before accepting it.
#: Longest title derived from a first message.
TITLE_CHARS = 80


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
            items += _within("bundle 'conversations'", parse_json, conversations)
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


def parse_json(data: object) -> list[SourceItem]:
    """Decoded JSON to items, by shape (``graphnode.contract.exports.export_format``, the same
    check the API makes); anything unrecognised says what is accepted."""
    fmt = export_format(data)
    if fmt is ExportFormat.CHATGPT:
        return parse_chatgpt_export([data] if isinstance(data, dict) else data)
    if fmt is ExportFormat.CLAUDE:
        return parse_claude_export(data)
    if fmt is ExportFormat.GEMINI:
        return parse_gemini_activity(data)
    if fmt is ExportFormat.MESSAGES:
        return parse_messages(data)
    if fmt is ExportFormat.NOTES:
        return parse_notes(data)
    if fmt is ExportFormat.BUNDLE:
        return _parse_bundle(data)  # type: ignore[arg-type]
    if isinstance(data, list):
        if not data:
            raise InputError(f"input: the list is empty; {ACCEPTED}")
        first = data[0]
        shape = f"an object with keys {sorted(first)[:8]}" if isinstance(first, dict) else (
            f"a {_kind(first)}")
        raise InputError(f"input: unrecognised list, element 0 is {shape}; {ACCEPTED}")
    if isinstance(data, dict):
        raise InputError(f"input: unrecognised object with keys {sorted(data)[:8]}; {ACCEPTED}")
    raise InputError(f"input: unrecognised {_kind(data)}; {ACCEPTED}")


def entry_count(data: object) -> int | None:
    """How many conversations and notes decoded JSON holds, read or not, so that a job can say
    how many gave no node (an image-only conversation has no text); ``None`` for Gemini
    activity, whose records are prompts, not conversations."""
    fmt = export_format(data)
    if fmt in (ExportFormat.CHATGPT, ExportFormat.CLAUDE):
        return 1 if isinstance(data, dict) else len(data)  # type: ignore[arg-type]
    if fmt is ExportFormat.MESSAGES:
        return len(data) if isinstance(data[0], list) else 1  # type: ignore[index,arg-type]
    if fmt is ExportFormat.NOTES:
        return len(data["source_nodes"])  # type: ignore[index]
    if fmt is ExportFormat.BUNDLE and isinstance(data, dict):
        notes = data.get("notes")
        if isinstance(notes, dict):
            notes = notes.get("source_nodes")
        conversations = data.get("conversations")
        chats = entry_count(conversations) if conversations else 0
        if chats is None:
            return None
        return chats + sum(len(part) for part in (notes, data.get("source_nodes"))
                           if isinstance(part, list))
    return None

