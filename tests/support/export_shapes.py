"""Exports in the shapes ChatGPT, Claude and Google Takeout write today, built deterministically
from the bundled samples' conversations (66 English, 80 Korean), for tests of what a person's
real download becomes.

Every conversation carries, besides its turns, one *piece*: a message of a content type the
services write (a voice transcript, a canvas document, a memory-tool call, hidden reasoning,
an abandoned edit, ...). Each piece holds a marker word (``gnmark<piece>``), so a test can say
of every piece whether its text reached the node, and nothing else needs to be hand-written.
Some conversations hold no text at all (images only, or empty), as real exports do: they give
no node, and the job's stats count them.
"""

from __future__ import annotations

import io
import json
import random
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from graphnode.samples import load_korean_export, load_sample_export

#: The first conversation's time; each next one starts CONVERSATION_SPACING_SECONDS later.
EPOCH = 1_735_689_600.0  # 2025-01-01
CONVERSATION_SPACING_SECONDS = 6 * 3600  # far beyond Gemini's 30-minute conversation gap
TURN_SECONDS = 45


def marker(piece: str) -> str:
    """The word a piece's text carries: one token, so it survives tokenizing and c-TF-IDF."""
    return "gnmark" + piece.replace("_", "")


@dataclass(frozen=True)
class Conversation:
    """What a generated conversation says, before any provider's shape is put on it."""

    index: int
    title: str
    start: float
    turns: tuple[str, ...]  # user, assistant, user, ...
    piece: str  # one of the provider's pieces, or "none"

    def time(self, turn: int) -> float:
        return self.start + turn * TURN_SECONDS


def _sample_turns() -> list[tuple[str, tuple[str, ...]]]:
    from tasks.pipeline.sources import parse_input

    items = parse_input(load_sample_export()) + parse_input(load_korean_export())
    return [(item.title, tuple(item.text.split("\n\n"))) for item in items]


def plan(count: int, pieces: tuple[str, ...], seed: int = 0) -> list[Conversation]:
    """``count`` conversations over the samples' turns (cycled, a repeat titled "(2)", ...),
    the pieces dealt in a shuffled but fixed order so every piece appears and none is tied to
    a topic."""
    sources = _sample_turns()
    dealt = [pieces[i % len(pieces)] for i in range(count)]
    random.Random(seed).shuffle(dealt)
    conversations = []
    for i in range(count):
        title, turns = sources[i % len(sources)]
        lap = i // len(sources)
        conversations.append(Conversation(
            index=i, title=f"{title} ({lap + 1})" if lap else title,
            start=EPOCH + i * CONVERSATION_SPACING_SECONDS, turns=turns, piece=dealt[i]))
    return conversations


def _id(*parts: object) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(map(str, parts))))


def _iso(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).isoformat().replace("+00:00", "Z")


# --- ChatGPT ---------------------------------------------------------------------------------

#: Piece -> whether its marker belongs in node text (README: "What of a ChatGPT message
#: becomes node text"). The empty ones give a conversation no node.
CHATGPT_PIECES: dict[str, bool] = {
    "none": False, "multimodal_text": True, "audio_transcription": True, "canvas": True,
    "code": False, "execution_output": False, "tether_browsing_display": False,
    "tether_quote": False, "thoughts": False, "reasoning_recap": False,
    "user_editable_context": False, "memory": False, "visually_hidden": False,
    "abandoned_edit": False, "dangling_current_node": True, "missing_current_node": True,
}
#: Pieces that replace the conversation's turns by messages without text.
CHATGPT_EMPTY = ("image_only", "empty")


def _asset(kind: str, key: str) -> dict[str, Any]:
    return {"content_type": f"{kind}_asset_pointer", "asset_pointer": f"file-service://file-{key}",
            "size_bytes": 48213, "width": 1024, "height": 768, "fovea": None, "metadata": None}


def _message(key: str, role: str, content: dict[str, Any], stamp: float | None, *,
             recipient: str = "all", name: str | None = None, **metadata: Any) -> dict[str, Any]:
    return {"id": key, "author": {"role": role, "name": name, "metadata": {}},
            "create_time": stamp, "update_time": None, "content": content,
            "status": "finished_successfully", "end_turn": role == "assistant" or None,
            "weight": 1.0, "metadata": metadata, "recipient": recipient, "channel": None}


def _text(*parts: Any, content_type: str = "text") -> dict[str, Any]:
    return {"content_type": content_type, "parts": list(parts)}


def _chatgpt_piece(conv: Conversation, stamp: float) -> list[tuple[str, dict[str, Any]]]:
    """(role, message fields) of the piece's messages, placed after the first user turn."""
    word = marker(conv.piece)
    piece = conv.piece
    if piece == "code":
        return [("assistant", {"content": {"content_type": "code", "language": "python",
                                           "text": f"print('{word}')"}, "recipient": "python"}),
                ("tool", {"content": {"content_type": "execution_output", "text": "4"},
                          "name": "python"})]
    if piece == "execution_output":
        return [("tool", {"content": {"content_type": "execution_output", "text": word},
                          "name": "python"})]
    if piece == "tether_browsing_display":
        return [("tool", {"content": {"content_type": "tether_browsing_display",
                                      "result": word, "summary": word, "assets": []},
                          "name": "web"})]
    if piece == "tether_quote":
        return [("tool", {"content": {"content_type": "tether_quote", "url": "https://x.org",
                                      "domain": "x.org", "title": word, "text": word},
                          "name": "web"})]
    if piece == "thoughts":
        return [("assistant", {"content": {"content_type": "thoughts", "thoughts": [
            {"summary": "Planning", "content": f"The user wants {word}"}],
            "source_analysis_msg_id": _id(conv.index, "analysis")}})]
    if piece == "reasoning_recap":
        return [("assistant", {"content": {"content_type": "reasoning_recap",
                                           "content": f"Thought for 9 seconds {word}"}})]
    if piece == "memory":
        return [("assistant", {"content": _text(f"User is interested in {word}"),
                               "recipient": "bio"}),
                ("tool", {"content": _text("Model set context updated."), "name": "bio"})]
    if piece == "visually_hidden":
        return [("assistant", {"content": _text(word),
                               "metadata": {"is_visually_hidden_from_conversation": True}})]
    if piece == "canvas":
        document = json.dumps({"name": "Draft", "type": "document",
                               "content": f"{conv.turns[-1]} {word}"})
        return [("assistant", {"content": {"content_type": "code", "language": "json",
                                           "text": document},
                               "recipient": "canmore.create_textdoc"}),
                ("tool", {"content": _text("Successfully created text document 'Draft'"),
                          "name": "canmore.create_textdoc"})]
    if piece == "multimodal_text":
        return [("user", {"content": _text(_asset("image", _id(conv.index, "img")),
                                           f"And this photo? {word}",
                                           content_type="multimodal_text")})]
    if piece == "audio_transcription":
        return [("user", {"content": _text(
            {"content_type": "audio_transcription", "text": f"{conv.turns[0]} {word}",
             "direction": "in", "decoding_id": None},
            _asset("audio", _id(conv.index, "audio")), content_type="multimodal_text")})]
    return []


def _chatgpt_messages(conv: Conversation) -> list[tuple[str, dict[str, Any]]]:
    """The active branch's messages after the root: the hidden system prompt, then the turns
    with the piece after the first, or only images for an image-only conversation."""
    system = ("system", {"content": _text(""),
                         "metadata": {"is_visually_hidden_from_conversation": True}})
    if conv.piece == "empty":
        return [system]
    if conv.piece == "image_only":
        prompt = json.dumps({"prompt": marker("dalle"), "size": "1024x1024"})
        return [system,
                ("user", {"content": _text(_asset("image", _id(conv.index, "in")),
                                           content_type="multimodal_text")}),
                ("assistant", {"content": _text(prompt), "recipient": "dalle.text2im"}),
                ("tool", {"content": _text(_asset("image", _id(conv.index, "out")),
                                           content_type="multimodal_text"),
                          "name": "dalle.text2im"})]
    head = [system]
    if conv.piece == "user_editable_context":
        head.append(("user", {"content": {"content_type": "user_editable_context",
                                          "user_profile": marker(conv.piece),
                                          "user_instructions": "Answer briefly."},
                              "metadata": {"is_visually_hidden_from_conversation": True,
                                           "user_context_message_data": {}}}))
    turns = [(("user", "assistant")[j % 2], {"content": _text(text)})
             for j, text in enumerate(conv.turns)]
    if conv.piece.endswith("current_node"):  # the latest leaf, which the walk must reach
        turns[-1] = (turns[-1][0], {"content": _text(f"{conv.turns[-1]} {marker(conv.piece)}")})
    return head + turns[:1] + _chatgpt_piece(conv, conv.time(1)) + turns[1:]


def chatgpt_conversation(conv: Conversation) -> dict[str, Any]:
    """One conversation of a current ChatGPT ``conversations.json``: the mapping tree under a
    null-message root, an abandoned edit where the piece says so, ``current_node`` the leaf."""
    messages = _chatgpt_messages(conv)
    root = _id(conv.index, "root")
    keys = [_id(conv.index, "message", j) for j in range(len(messages))]
    mapping: dict[str, Any] = {root: {"id": root, "message": None, "parent": None,
                                      "children": keys[:1]}}
    for j, (key, (role, fields)) in enumerate(zip(keys, messages, strict=True)):
        metadata = fields.pop("metadata", {})
        message = _message(key, role, fields.pop("content"), conv.time(j) if j else None,
                           recipient=fields.pop("recipient", "all"), name=fields.pop("name", None),
                           **metadata)
        mapping[key] = {"id": key, "message": message, "parent": keys[j - 1] if j else root,
                        "children": keys[j + 1:j + 2]}
    if conv.piece == "abandoned_edit" and len(keys) > 2:
        # The person edited their first question: the old one and its answer stay in the tree.
        old_user, old_answer = _id(conv.index, "old-user"), _id(conv.index, "old-answer")
        mapping[keys[0]]["children"].append(old_user)
        mapping[old_user] = {"id": old_user, "parent": keys[0], "children": [old_answer],
                             "message": _message(old_user, "user", _text(marker(conv.piece)),
                                                 conv.start)}
        mapping[old_answer] = {"id": old_answer, "parent": old_user, "children": [],
                               "message": _message(old_answer, "assistant",
                                                   _text(marker(conv.piece)), conv.start)}
    conversation: dict[str, Any] = {
        "title": conv.title, "create_time": conv.start, "update_time": conv.time(len(keys)),
        "mapping": mapping, "moderation_results": [], "current_node": keys[-1],
        "plugin_ids": None, "conversation_id": _id(conv.index, "conversation"),
        "conversation_template_id": None, "gizmo_id": None, "gizmo_type": None,
        "is_archived": False, "is_starred": None, "safe_urls": [], "blocked_urls": [],
        "default_model_slug": "gpt-4o", "conversation_origin": None, "voice": None,
        "async_status": None, "disabled_tool_ids": [], "is_do_not_remember": False,
        "memory_scope": "global_enabled", "sugar_item_id": None,
        "id": _id(conv.index, "conversation"),
    }
    if conv.piece == "dangling_current_node":
        conversation["current_node"] = _id(conv.index, "deleted")
    if conv.piece == "missing_current_node":
        del conversation["current_node"]
    return conversation


def chatgpt_export(count: int, seed: int = 0) -> list[dict[str, Any]]:
    return [chatgpt_conversation(conv)
            for conv in plan(count, (*CHATGPT_PIECES, *CHATGPT_EMPTY), seed)]


# --- Claude ----------------------------------------------------------------------------------

CLAUDE_PIECES: dict[str, bool] = {
    "none": False, "attachment": True, "thinking": False, "tool_use": False,
    "tool_result": False,
}
CLAUDE_EMPTY = ("image_only", "empty")


def _claude_content(conv: Conversation, j: int, text: str) -> list[dict[str, Any]]:
    stamp = _iso(conv.time(j))
    part = {"start_timestamp": stamp, "stop_timestamp": stamp, "citations": []}
    parts = [{**part, "type": "text", "text": text}]
    word = marker(conv.piece)
    if j == 1 and conv.piece == "thinking":
        parts.insert(0, {**part, "type": "thinking", "thinking": word, "summaries": []})
    if j == 1 and conv.piece == "tool_use":
        parts.insert(0, {**part, "type": "tool_use", "name": "web_search",
                         "input": {"query": word}})
    if j == 1 and conv.piece == "tool_result":
        parts.insert(0, {**part, "type": "tool_result", "name": "web_search", "is_error": False,
                         "content": [{"type": "text", "text": word}]})
    return parts


def claude_conversation(conv: Conversation) -> dict[str, Any]:
    """One conversation of Claude's ``conversations.json`` (Settings → Privacy → Export)."""
    turns = () if conv.piece == "empty" else conv.turns
    messages = []
    for j, text in enumerate(turns):
        sender = ("human", "assistant")[j % 2]
        attachments = [{"file_name": "notes.txt", "file_size": 120, "file_type": "txt",
                        "extracted_content": f"{text} {marker(conv.piece)}"}] if (
            j == 0 and conv.piece == "attachment") else []
        content = _claude_content(conv, j, text)
        files: list[dict[str, str]] = []
        if conv.piece == "image_only":  # a photo and nothing said: Claude keeps no image
            text, content, files = "", [], [{"file_name": f"IMG_{conv.index:04}.jpeg"}]
        messages.append({"uuid": _id(conv.index, "claude", j), "text": text,
                         "content": content, "sender": sender,
                         "created_at": _iso(conv.time(j)), "updated_at": _iso(conv.time(j)),
                         "attachments": attachments, "files": files})
    return {"uuid": _id(conv.index, "claude"), "name": conv.title, "summary": "",
            "created_at": _iso(conv.start), "updated_at": _iso(conv.time(len(turns))),
            "account": {"uuid": _id("account")}, "chat_messages": messages}


def claude_export(count: int, seed: int = 0) -> list[dict[str, Any]]:
    return [claude_conversation(conv)
            for conv in plan(count, (*CLAUDE_PIECES, *CLAUDE_EMPTY), seed)]


# --- Gemini (Google Takeout) -----------------------------------------------------------------

#: Takeout writes only prompts and answers, so Gemini's pieces are records beside them; none
#: of them is a conversation, and every conversation has text.
GEMINI_PIECES: dict[str, bool] = {"none": False, "used": False, "feedback": False}


def gemini_records(conv: Conversation) -> Iterator[dict[str, Any]]:
    """Takeout's records of one conversation: one per prompt, the answer as HTML."""
    base = {"header": "Gemini Apps", "products": ["Gemini Apps"],
            "activityControls": ["Gemini Apps Activity"]}
    for j in range(0, len(conv.turns), 2):
        answer = conv.turns[j + 1] if j + 1 < len(conv.turns) else ""
        yield {**base, "title": f"Prompted {conv.turns[j]}", "time": _iso(conv.time(j)),
               "safeHtmlItem": [{"html": f"<p>{answer}</p>"}] if answer else []}
    if conv.piece == "used":
        yield {**base, "title": f"Used Gemini Apps {marker(conv.piece)}",
               "time": _iso(conv.time(len(conv.turns)))}
    if conv.piece == "feedback":
        yield {**base, "title": f"Gave feedback: {marker(conv.piece)}",
               "time": _iso(conv.time(len(conv.turns)))}


def gemini_activity(count: int, seed: int = 0) -> list[dict[str, Any]]:
    """``MyActivity.json``: newest first, as Takeout writes it."""
    records = [record for conv in plan(count, tuple(GEMINI_PIECES), seed)
               for record in gemini_records(conv)]
    return sorted(records, key=lambda record: record["time"], reverse=True)


# --- the zips as downloaded ------------------------------------------------------------------


def zip_of(files: dict[str, object]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data if isinstance(data, bytes) else
                             json.dumps(data, ensure_ascii=False))
    return buffer.getvalue()


def chatgpt_zip(count: int, image_bytes: int = 4096, seed: int = 0) -> bytes:
    """ChatGPT's "Export data" zip: the conversations, the HTML viewer, the account, feedback,
    and the images people sent (random bytes: photos do not compress, which matters to an
    upload over 8 MiB)."""
    images = {f"file-{_id(seed, 'image', i)[:22]}-IMG_{i:04}.jpeg":
              random.Random(seed + i).randbytes(image_bytes) for i in range(3)}
    return zip_of({"conversations.json": chatgpt_export(count, seed),
                   "chat.html": b"<html><body>ChatGPT Data Export</body></html>",
                   "user.json": {"id": "user-1", "email": "me@example.com"},
                   "message_feedback.json": [], "shared_conversations.json": [], **images})


def claude_zip(count: int, seed: int = 0) -> bytes:
    return zip_of({"conversations.json": claude_export(count, seed),
                   "users.json": [{"uuid": _id("account"), "full_name": "Me",
                                   "email_address": "me@example.com"}],
                   "projects.json": []})


def gemini_zip(count: int, seed: int = 0) -> bytes:
    return zip_of({"Takeout/archive_browser.html": b"<html></html>",
                   "Takeout/My Activity/Gemini Apps/MyActivity.json":
                       gemini_activity(count, seed)})


#: ``sourceType`` of the nodes -> the provider's zip of ``count`` conversations.
PROVIDER_ZIPS: dict[str, Callable[[int], bytes]] = {
    "chatgpt": chatgpt_zip, "claude": claude_zip, "gemini": gemini_zip}
#: ``sourceType`` -> how many of ``count`` planned conversations hold no text.
_EMPTY_PIECES = {"chatgpt": (CHATGPT_PIECES, CHATGPT_EMPTY),
                 "claude": (CLAUDE_PIECES, CLAUDE_EMPTY), "gemini": (GEMINI_PIECES, ())}


def conversations_without_text(source_type: str, count: int, seed: int = 0) -> int:
    """How many of the ``count`` conversations the generator made empty (no node expected)."""
    pieces, empty = _EMPTY_PIECES[source_type]
    return sum(conv.piece in empty for conv in plan(count, (*pieces, *empty), seed))
