"""Which export a decoded JSON document is, by its shape: one answer for the API (which refuses
what no parser reads, before it accepts a job) and the GPU worker's parsers (which dispatch
on it), so the two can never disagree.

Shapes, as each service writes them:

- ChatGPT ``conversations.json``: a list of conversations with a ``mapping`` tree.
- Claude ``conversations.json``: a list of conversations with ``uuid`` and ``chat_messages``.
- Gemini Apps activity (Google Takeout, ``My Activity/Gemini Apps/MyActivity.json``): a list
  of activity records with ``header``, ``title`` and ``time``.
- Flat message lists: ``[{"role", "content"}]`` or a list of such lists.
- Notes ``{"source_nodes": [...]}`` and bundles ``{"conversations", "notes", "source_nodes"}``.

Only the first element of a list is looked at: this is a cheap check, and the parsers name
any deeper fault by item and field.
"""

from __future__ import annotations

from enum import StrEnum

from graphnode.contract import BUNDLE_KEYS


class ExportFormat(StrEnum):
    """A recognised input; the value is also the ``sourceType`` of the provider's nodes."""

    CHATGPT = "chatgpt"
    CLAUDE = "claude"
    GEMINI = "gemini"
    MESSAGES = "messages"
    NOTES = "notes"
    BUNDLE = "bundle"


#: What a refusal lists, for a person who sent something else.
ACCEPTED_FORMATS = (
    "a ChatGPT export (its zip, or conversations.json: conversations with 'mapping'), a Claude "
    "export (its zip, or conversations.json: conversations with 'chat_messages'), a Gemini "
    "Apps activity from Google Takeout (its zip, or MyActivity.json), flat messages (a list of "
    "{'role', 'content'} objects, or a list of such lists), or an object with one of "
    + ", ".join(sorted(BUNDLE_KEYS))
)

#: Keys every Google Takeout "My Activity" record has.
ACTIVITY_KEYS = frozenset({"header", "title", "time"})


def _conversation_format(item: dict[str, object]) -> ExportFormat | None:
    if "mapping" in item:
        return ExportFormat.CHATGPT
    if "chat_messages" in item:
        return ExportFormat.CLAUDE
    if ACTIVITY_KEYS <= item.keys():
        return ExportFormat.GEMINI
    if "role" in item:
        return ExportFormat.MESSAGES
    return None


def export_format(data: object) -> ExportFormat | None:
    """The format of decoded JSON, or ``None`` when no parser reads it (an empty list too)."""
    if isinstance(data, list):
        if not data:
            return None
        first = data[0]
        if isinstance(first, list):
            return ExportFormat.MESSAGES
        return _conversation_format(first) if isinstance(first, dict) else None
    if isinstance(data, dict):
        if "mapping" in data:  # one ChatGPT conversation
            return ExportFormat.CHATGPT
        if "chat_messages" in data:  # one Claude conversation
            return ExportFormat.CLAUDE
        keys = BUNDLE_KEYS & data.keys()
        if keys == {"source_nodes"}:
            return ExportFormat.NOTES
        return ExportFormat.BUNDLE if keys else None
    return None
