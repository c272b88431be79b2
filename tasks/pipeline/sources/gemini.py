"""Gemini Apps activity from Google Takeout (``My Activity/Gemini Apps/MyActivity.json``) to
``SourceItem``s.

Takeout writes one record per prompt (``title`` "Prompted …", ``time``, the answer as HTML
in ``safeHtmlItem``) and no conversation id, so records close in time are read as one
conversation. Records that are not prompts ("Used Gemini Apps", feedback) carry no chat.
"""

from __future__ import annotations

from typing import Any

from graphnode.contract.exports import ExportFormat
from tasks.pipeline.errors import InputError
from tasks.pipeline.parsing import SourceItem, clean_text, content_id, timestamp_of, unique_ids

#: Products whose records are Gemini chats (Gemini was Bard until February 2024).
PRODUCTS = ("gemini", "bard")
PROMPT_PREFIX = "Prompted "
#: A pause longer than this starts a new conversation: Takeout keeps no conversation id, and
#: people come back to a chat within minutes, to a new topic after a break.
CONVERSATION_GAP_SECONDS = 30 * 60
TITLE_CHARS = 80


def _is_gemini(record: dict[str, Any]) -> bool:
    names = [record.get("header"), *(record.get("products") or [])]
    return any(isinstance(n, str) and any(p in n.lower() for p in PRODUCTS) for n in names)


def _turn(record: dict[str, Any]) -> tuple[float, str, str] | None:
    """``(time, prompt, answer)`` of a prompt record; ``None`` for any other record."""
    title = record.get("title")
    stamp = timestamp_of(record.get("time"))
    if not isinstance(title, str) or not title.startswith(PROMPT_PREFIX) or stamp is None:
        return None
    prompt = title.removeprefix(PROMPT_PREFIX).strip()
    answers = [clean_text(item["html"]) for item in record.get("safeHtmlItem") or []
               if isinstance(item, dict) and isinstance(item.get("html"), str)]
    return (stamp, prompt, "\n".join(a for a in answers if a)) if prompt else None


def _item(turns: list[tuple[float, str, str]]) -> SourceItem:
    sections = [f"{prompt}\n{answer}".strip() for _, prompt, answer in turns]
    first_prompt = turns[0][1]
    title = first_prompt if len(first_prompt) <= TITLE_CHARS else (
        first_prompt[:TITLE_CHARS].rsplit(" ", 1)[0] + "…")
    return SourceItem(
        id=content_id("gemini", first_prompt, str(turns[0][0])),
        title=title,
        text="\n\n".join(sections),
        timestamp=turns[0][0],
        num_sections=len(sections),
        source_type=ExportFormat.GEMINI.value,
    )


def parse_gemini_activity(data: object) -> list[SourceItem]:
    """Takeout's activity records to items, one per run of prompts without a long pause."""
    if not isinstance(data, list) or not data:
        raise InputError("gemini activity: must be a non-empty list of activity records")
    turns = sorted(turn for record in data
                   if isinstance(record, dict) and _is_gemini(record)
                   and (turn := _turn(record)) is not None)
    if not turns:
        raise InputError(f"gemini activity: none of the {len(data)} records is a Gemini Apps "
                         "prompt ('Prompted …')")
    conversations: list[list[tuple[float, str, str]]] = [[turns[0]]]
    for turn in turns[1:]:
        if turn[0] - conversations[-1][-1][0] > CONVERSATION_GAP_SECONDS:
            conversations.append([])
        conversations[-1].append(turn)
    return unique_ids([_item(conversation) for conversation in conversations])
