"""Turn a ChatGPT export into ``SourceItem``s, one per conversation, active branch only.

A ChatGPT conversation is a tree: editing a message or regenerating an answer forks it. The
export's ``current_node`` is the leaf the user last saw, so walking its parent chain up to the
root yields exactly the conversation as displayed; the other branches are abandoned drafts.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from graphnode.contract.exports import ExportFormat
from tasks.pipeline.errors import InputError

KEPT_ROLES = frozenset({"user", "assistant"})


@dataclass(frozen=True)
class SourceItem:
    """One document of the user's history, as the rest of the pipeline sees it."""

    id: str
    title: str
    text: str
    timestamp: float | None
    num_sections: int
    #: The provider (``chatgpt``, ``claude``, ``gemini``), ``note`` or a document type;
    #: flat message lists, whose provider is unknown, are ``chat``.
    source_type: str = "chat"


def content_id(prefix: str, *parts: str) -> str:
    """A default id derived from an item's content, for items sent without one.

    Positional ids (``conv-0``, ``note-0``) collided across add-node batches: the first item of
    every batch had the same id. A digest of the normalised parts (Unicode NFC, whitespace
    collapsed) is stable across runs, so re-sending an item finds its node, and distinct
    content gets distinct ids; repeats within one input are still renamed by ``unique_ids``.
    """
    normalised = (" ".join(unicodedata.normalize("NFC", part).split()) for part in parts)
    digest = hashlib.sha256("\x00".join(normalised).encode("utf-8")).hexdigest()
    return f"{prefix}-{digest[:16]}"


def _label(index: int, conv: dict[str, Any]) -> str:
    """How error messages name a conversation: its list index and, when it has one, its title."""
    title = conv.get("title")
    return f"conversation {index} ({title!r})" if isinstance(title, str) and title else (
        f"conversation {index}"
    )


def _number(value: object) -> float | None:
    """A finite float from a number or numeric string, else ``None`` (bools are not numbers)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        out = float(value)
    elif isinstance(value, str):
        try:
            out = float(value)
        except ValueError:
            return None
    else:
        return None
    return out if math.isfinite(out) else None


def timestamp_of(value: object) -> float | None:
    """Epoch seconds from a number, a numeric string or an ISO-8601 string, else ``None``.

    Notes and message lists come from databases and JavaScript as often as from Python, so
    ``"2024-05-01T10:00:00Z"`` is as likely as ``1714557600``; a naive time is taken as UTC.
    """
    number = _number(value)
    if number is not None or not isinstance(value, str):
        return number
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _fallback_leaf(mapping: dict[str, Any]) -> str | None:
    """The leaf to follow when ``current_node`` is missing or dangling: the latest message's."""
    leaves = [k for k, v in mapping.items() if isinstance(v, dict) and not v.get("children")]
    if not leaves:
        return None

    def created(key: str) -> float:
        msg = mapping[key].get("message")
        stamp = _number(msg.get("create_time")) if isinstance(msg, dict) else None
        return stamp if stamp is not None else -math.inf

    return max(leaves, key=created)


def active_branch(mapping: dict[str, Any], current: str, label: str) -> list[dict[str, Any]]:
    """Nodes from the root down to ``current``, following ``parent`` links.

    A parent id absent from the mapping ends the walk (partial exports keep what they have);
    a cycle is an error, since it means the tree is corrupt.
    """
    chain: list[dict[str, Any]] = []
    seen: set[str] = set()
    node_id: object = current
    while isinstance(node_id, str) and node_id in mapping:
        if node_id in seen:
            raise InputError(f"{label}: field 'mapping' has a parent cycle at node {node_id!r}")
        seen.add(node_id)
        node = mapping[node_id]
        if not isinstance(node, dict):
            raise InputError(f"{label}: mapping node {node_id!r} must be an object")
        chain.append(node)
        node_id = node.get("parent")
    chain.reverse()
    return chain


#: Assistant messages addressed to these tools carry the tool's input as text that the
#: person never saw: the memory tool ("bio"), web search, code, image generation.
HIDDEN_RECIPIENTS = frozenset({"bio", "web", "browser", "python", "dalle.text2im"})
#: Canvas documents: the message's text is JSON whose ``content`` is the document written.
CANVAS_RECIPIENTS = ("canmore.create_textdoc", "canmore.update_textdoc")
#: Content types that are not the conversation: the model's hidden reasoning, custom
#: instructions, tool output and browsing results.
SKIPPED_CONTENT = frozenset({"thoughts", "reasoning_recap", "user_editable_context",
                             "execution_output", "tether_browsing_display", "system_error"})


def _part_text(part: object) -> str:
    """A string part, or the transcript of a voice-mode ``audio_transcription`` part; asset
    pointers (images, audio) carry no text."""
    if isinstance(part, str):
        return part.strip()
    if isinstance(part, dict) and part.get("content_type") == "audio_transcription":
        text = part.get("text")
        return text.strip() if isinstance(text, str) else ""
    return ""


def _canvas_text(raw: str) -> str:
    try:
        document = json.loads(raw)
    except json.JSONDecodeError:
        return raw.strip()
    if isinstance(document, dict):
        body = document.get("content") or " ".join(
            u.get("replacement", "") for u in document.get("updates") or [] if isinstance(u, dict))
        name = document.get("name")
        return "\n".join(t.strip() for t in (name, body) if isinstance(t, str) and t.strip())
    return ""


def message_text(message: object) -> tuple[str | None, str]:
    """``(role, text)`` of one message; text is '' for anything that is not visible chat text."""
    if not isinstance(message, dict):
        return None, ""
    author = message.get("author")
    role = author.get("role") if isinstance(author, dict) else None
    metadata = message.get("metadata")
    if isinstance(metadata, dict) and metadata.get("is_visually_hidden_from_conversation"):
        return role, ""
    content = message.get("content")
    if not isinstance(content, dict) or content.get("content_type") in SKIPPED_CONTENT:
        return role, ""
    parts = content.get("parts")
    if not isinstance(parts, list):
        parts = [content["text"]] if isinstance(content.get("text"), str) else []
    text = "\n".join(t for t in map(_part_text, parts) if t)
    recipient = message.get("recipient")
    if recipient in CANVAS_RECIPIENTS:
        return role, _canvas_text(text)
    if recipient in HIDDEN_RECIPIENTS:
        return role, ""
    return role, text


def parse_conversation(index: int, conv: object) -> SourceItem | None:
    """One conversation to a ``SourceItem``; ``None`` when it has no user or assistant text."""
    if not isinstance(conv, dict):
        raise InputError(
            f"conversation {index}: must be an object, got {type(conv).__name__}"
        )
    label = _label(index, conv)
    mapping = conv.get("mapping")
    if mapping is None:
        raise InputError(f"{label}: field 'mapping' is missing")
    if not isinstance(mapping, dict):
        raise InputError(
            f"{label}: field 'mapping' must be an object, got {type(mapping).__name__}"
        )
    current = conv.get("current_node")
    if not isinstance(current, str) or current not in mapping:
        # Missing, or dangling after a partial export or an edit: the latest leaf is what the
        # person saw last, and a conversation is worth more than an error about one field.
        current = _fallback_leaf(mapping)
        if current is None:
            return None

    sections: list[str] = []
    first_stamp: float | None = None
    for node in active_branch(mapping, current, label):
        message = node.get("message")
        role, text = message_text(message)
        if role not in KEPT_ROLES or not text:
            continue
        sections.append(text)
        if first_stamp is None and isinstance(message, dict):
            first_stamp = _number(message.get("create_time"))
    if not sections:
        return None

    title = conv.get("title")
    title = title.strip() if isinstance(title, str) and title.strip() else "Untitled"
    text = "\n\n".join(sections)
    raw_id = conv.get("id") or conv.get("conversation_id")
    item_id = (str(raw_id) if isinstance(raw_id, str | int) and str(raw_id)
               else content_id("conv", title, text))
    stamp = _number(conv.get("create_time"))
    if stamp is None:
        stamp = _number(conv.get("update_time"))
    if stamp is None:
        stamp = first_stamp
    return SourceItem(
        id=item_id,
        title=title,
        text=text,
        timestamp=stamp,
        num_sections=len(sections),
        source_type=ExportFormat.CHATGPT.value,
    )


def unique_ids(items: Sequence[SourceItem]) -> list[SourceItem]:
    """Items with repeated ids renamed ``{id}-2``, ``{id}-3``... so graph node ids stay unique.

    A suffix already taken (by an item's own id, or an earlier rename) is skipped, so the
    result never repeats an id. Needed when formats are mixed too: a note and a conversation
    may share an id by chance.
    """
    seen: set[str] = set()
    out: list[SourceItem] = []
    for item in items:
        new_id, n = item.id, 1
        while new_id in seen:
            n += 1
            new_id = f"{item.id}-{n}"
        seen.add(new_id)
        out.append(item if new_id == item.id else replace(item, id=new_id))
    return out


def parse_chatgpt_export(data: object) -> list[SourceItem]:
    """Parse a ChatGPT ``conversations.json`` (already JSON-decoded) into source items.

    Conversations without visible text are dropped; a malformed one raises ``InputError``
    (index is the 0-based position in the list). Repeated ids are renamed by ``unique_ids``
    (``-2``, ``-3``...) so node ids stay unique.
    """
    if not isinstance(data, list):
        raise InputError(
            f"export: must be a list of conversations, got {type(data).__name__}"
        )
    if not data:
        raise InputError("export: the list of conversations is empty")
    items: list[SourceItem] = []
    for index, conv in enumerate(data):
        item = parse_conversation(index, conv)
        if item is not None:
            items.append(item)
    if not items:
        raise InputError(
            f"export: none of the {len(data)} conversations has any user or assistant text"
        )
    return unique_ids(items)


_FENCED = re.compile(r"(```|~~~).*?(\1|\Z)", re.DOTALL)
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_SCRIPT = re.compile(r"<(script|style)\b[^>]*>.*?(?:</\1\s*>|\Z)", re.DOTALL | re.IGNORECASE)
# Link targets may hold one level of parentheses, as Wikipedia URLs do: (https://x/a_(b)).
_TARGET = r"\((?:[^()]|\([^()]*\))*\)"
# Link text stops at "[" as well as "]": linear time on "[[[[...".
_IMAGE = re.compile(r"!\[([^\[\]]*)\]" + _TARGET)
_LINK = re.compile(r"\[([^\[\]]*)\]" + _TARGET)
_REF_DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*\S+.*$", re.MULTILINE)
_REF_LINK = re.compile(r"!?\[([^\[\]]+)\]\[[^\[\]]*\]")
_FOOTNOTE = re.compile(r"\[\^[^\[\]\s]+\]")
_AUTOLINK = re.compile(r"<(?:https?|ftp|mailto):[^<>\s]*>", re.IGNORECASE)
# A URL in parentheses goes with them, else the greedy _URL would leave a lone "(".
_PAREN_URL = re.compile(
    r"\((?:https?://|ftp://|www\.)[^\s()]*(?:\([^\s()]*\)[^\s()]*)*\)", re.IGNORECASE
)
#: Where a URL starts; ``_URL`` and the microscope's masking pattern (``key_phrases``) both
#: begin with it.
_URL_START = r"\b(?:https?://|ftp://|www\.)"
_URL = re.compile(_URL_START + r"[^\s<>\"]+", re.IGNORECASE)
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_HTML = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
_HEADER = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$", re.MULTILINE)
_QUOTE_OR_BULLET = re.compile(r"^[ \t]*(?:>+|[-*+][ \t]|\d+[.)][ \t])[ \t]*", re.MULTILINE)
# Thematic breaks, setext underlines ("=====") and table separator rows ("|---|:---:|").
# No two whitespace runs touch, so long blank runs cannot make it backtrack quadratically.
_RULE = re.compile(
    r"^[ \t]*(?:(?:[-*_][ \t]*){3,}|=+[ \t]*"
    r"|(?:\|[ \t]*)?:?-+:?(?:[ \t]*\|[ \t]*:?-+:?)*[ \t]*(?:\|[ \t]*)?)$",
    re.MULTILINE,
)
# Emphasis text may not hold its own delimiter character, so an unclosed "**" scans only to the
# next "*" (linear time; ".+?" was quadratic on long lines of stray asterisks). Nesting is
# handled by running bold, italic, bold: "**a *b* c**" and "***both***".
_BOLD = re.compile(r"\*\*(?=[^\s*])([^*\n]+?)(?<=\S)\*\*|__(?=[^\s_])([^_\n]+?)(?<=\S)__")
_ITALIC = re.compile(
    r"(?<![\w*])\*(?=[^\s*])([^*\n]+?)(?<=\S)\*(?![\w*])"
    r"|(?<![\w_])_(?=[^\s_])([^_\n]+?)(?<=\S)_(?![\w_])"
)
_STRIKE = re.compile(r"~~(?=[^\s~])([^~\n]+?)(?<=\S)~~")
_INLINE_CODE = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)")
_STRAY_BACKTICKS = re.compile(r"`+")
_SPACE = re.compile(r"\s+")


def clean_text(text: str) -> str:
    """Plain prose for keyword extraction: no code blocks, URLs, markdown or HTML.

    Code and URLs would otherwise dominate term statistics (``def``, ``https``, ``com``).
    Link, emphasis and inline-code text is kept (``pandas`` is often the topic), only the
    markup goes; HTML tags go (with ``<script>``/``<style>`` bodies and comments), entities
    are decoded last so that escaped text such as ``&lt;div&gt;`` survives as text; whitespace
    collapses to single spaces.
    """
    text = _FENCED.sub(" ", text)
    text = _COMMENT.sub(" ", text)
    text = _SCRIPT.sub(" ", text)
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _REF_DEFINITION.sub(" ", text)
    text = _REF_LINK.sub(r"\1", text)
    text = _FOOTNOTE.sub(" ", text)
    text = _AUTOLINK.sub(" ", text)
    text = _PAREN_URL.sub(" ", text)
    text = _URL.sub(" ", text)
    text = _EMAIL.sub(" ", text)
    text = _HTML.sub(" ", text)
    text = _RULE.sub(" ", text)
    text = _HEADER.sub(r"\1", text)
    text = _QUOTE_OR_BULLET.sub("", text)
    text = _INLINE_CODE.sub(r"\2", text)
    text = _STRAY_BACKTICKS.sub(" ", text)
    text = _BOLD.sub(r"\1\2", text)
    text = _ITALIC.sub(r"\1\2", text)
    text = _BOLD.sub(r"\1\2", text)
    text = _STRIKE.sub(r"\1", text)
    text = text.replace("|", " ")  # table cells; whitespace collapses below
    text = html.unescape(text)
    return _SPACE.sub(" ", text).strip()


def item_text(item: SourceItem) -> str:
    """The text of an item as it is embedded and mined for keywords: title and body, cleaned
    of URLs, code and markup, which would otherwise dominate both."""
    return clean_text(f"{item.title}. {item.text}" if item.title else item.text)
