"""Claude's ``conversations.json`` (Settings → Privacy → Export data) to ``SourceItem``s.

A conversation: ``uuid``, ``name``, ``created_at``, ``chat_messages`` of ``sender``
(``human``/``assistant``), ``text`` and typed ``content`` parts, and ``attachments`` whose
``extracted_content`` is the text of a file the person gave Claude.
"""

from __future__ import annotations

from typing import Any

from graphnode.contract.exports import ExportFormat
from tasks.pipeline.errors import InputError
from tasks.pipeline.parsing import SourceItem, content_id, timestamp_of, unique_ids

#: Senders whose text is the conversation; Claude writes no others today.
SENDERS = frozenset({"human", "assistant"})
#: Content parts that are the conversation. ``thinking`` is the model's hidden reasoning and
#: ``tool_use``/``tool_result`` its tool traffic: not the person's knowledge, left out.
TEXT_PARTS = frozenset({"text"})


def _message_text(message: dict[str, Any]) -> str:
    """The visible text of a message, then the text of its attachments."""
    parts = message.get("content")
    texts: list[str] = []
    if isinstance(parts, list) and parts:
        texts = [part["text"].strip() for part in parts
                 if isinstance(part, dict) and part.get("type") in TEXT_PARTS
                 and isinstance(part.get("text"), str) and part["text"].strip()]
    elif isinstance(message.get("text"), str) and message["text"].strip():
        texts = [message["text"].strip()]
    for attachment in message.get("attachments") or []:
        if isinstance(attachment, dict) and isinstance(attachment.get("extracted_content"), str):
            body = attachment["extracted_content"].strip()
            if body:
                texts.append(f"Attachment {attachment.get('file_name') or ''}: {body}".strip())
    return "\n".join(texts)


def parse_conversation(index: int, conv: object) -> SourceItem | None:
    """One conversation; ``None`` when no human or assistant text is left."""
    if not isinstance(conv, dict):
        raise InputError(f"conversation {index}: must be an object, got {type(conv).__name__}")
    messages = conv.get("chat_messages")
    if not isinstance(messages, list):
        raise InputError(f"conversation {index}: field 'chat_messages' must be a list, got "
                         f"{type(messages).__name__}")
    sections = [text for message in messages
                if isinstance(message, dict) and message.get("sender") in SENDERS
                and (text := _message_text(message))]
    if not sections:
        return None
    name = conv.get("name")
    title = name.strip() if isinstance(name, str) and name.strip() else (
        sections[0].splitlines()[0][:80])
    text = "\n\n".join(sections)
    raw_id = conv.get("uuid")
    return SourceItem(
        id=raw_id if isinstance(raw_id, str) and raw_id else content_id("claude", title, text),
        title=title,
        text=text,
        timestamp=timestamp_of(conv.get("created_at")),
        num_sections=len(sections),
        source_type=ExportFormat.CLAUDE.value,
    )


def parse_claude_export(data: object) -> list[SourceItem]:
    """A Claude export (a list of conversations, or one) to items, one per conversation."""
    conversations = [data] if isinstance(data, dict) else data
    if not isinstance(conversations, list) or not conversations:
        raise InputError("claude export: must be a non-empty list of conversations")
    items = [item for index, conv in enumerate(conversations)
             if (item := parse_conversation(index, conv)) is not None]
    if not items:
        raise InputError(f"claude export: none of the {len(conversations)} conversations has "
                         "any human or assistant text")
    return unique_ids(items)
