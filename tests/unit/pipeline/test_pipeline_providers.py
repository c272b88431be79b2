"""Claude and Gemini exports, and the ChatGPT content types that were wrong: what becomes
node text, and what is left out on purpose."""

from __future__ import annotations

import json

import pytest

from tasks.pipeline.errors import InputError
from tasks.pipeline.sources import parse_input


def chatgpt(*messages: dict) -> list[dict]:
    """One conversation whose active branch is ``messages`` in order, under a null root."""
    mapping = {"root": {"id": "root", "message": None, "parent": None, "children": ["m0"]}}
    for i, message in enumerate(messages):
        mapping[f"m{i}"] = {"id": f"m{i}", "message": message,
                            "parent": "root" if i == 0 else f"m{i - 1}",
                            "children": [f"m{i + 1}"] if i + 1 < len(messages) else []}
    return [{"title": "Kyoto", "id": "c1", "create_time": 1714557600.0,
             "current_node": f"m{len(messages) - 1}", "mapping": mapping}]


def msg(role: str, content: dict, recipient: str = "all") -> dict:
    return {"author": {"role": role}, "content": content, "recipient": recipient,
            "metadata": {}}


def test_voice_mode_transcripts_are_kept_and_asset_pointers_dropped():
    items = parse_input(chatgpt(
        msg("user", {"content_type": "multimodal_text", "parts": [
            {"content_type": "audio_asset_pointer", "asset_pointer": "file-service://x"},
            {"content_type": "audio_transcription", "text": "교토 여행 일정을 짜 줘"}]}),
        msg("assistant", {"content_type": "text", "parts": ["Start at Fushimi Inari."]})))
    assert items[0].text == "교토 여행 일정을 짜 줘\n\nStart at Fushimi Inari."


def test_memory_tool_messages_stay_out_and_canvas_documents_come_in():
    canvas = json.dumps({"name": "Itinerary", "type": "document",
                         "content": "Day 1: Arashiyama bamboo grove"})
    items = parse_input(chatgpt(
        msg("user", {"content_type": "text", "parts": ["plan Kyoto"]}),
        msg("assistant", {"content_type": "text", "parts": ["User likes temples"]}, "bio"),
        msg("assistant", {"content_type": "code", "language": "json", "text": canvas},
            "canmore.create_textdoc")))
    assert "temples" not in items[0].text
    assert items[0].text == "plan Kyoto\n\nItinerary\nDay 1: Arashiyama bamboo grove"


@pytest.mark.parametrize("content_type", ["thoughts", "reasoning_recap",
                                          "user_editable_context", "execution_output",
                                          "tether_browsing_display"])
def test_hidden_reasoning_instructions_and_tool_output_stay_out(content_type):
    items = parse_input(chatgpt(
        msg("user", {"content_type": "text", "parts": ["plan Kyoto"]}),
        msg("assistant", {"content_type": content_type, "parts": ["SECRET"],
                          "thoughts": [{"content": "SECRET"}]})))
    assert items[0].text == "plan Kyoto"


def test_claude_keeps_text_and_attachments_and_leaves_thinking_and_tools_out():
    export = [{"uuid": "u-1", "name": "", "created_at": "2024-05-01T10:00:00Z", "chat_messages": [
        {"sender": "human", "text": "summarise my notes", "content": [
            {"type": "text", "text": "summarise my notes"}],
         "attachments": [{"file_name": "notes.txt", "extracted_content": "서울 맛집 목록"}]},
        {"sender": "assistant", "text": "", "content": [
            {"type": "thinking", "thinking": "SECRET"},
            {"type": "tool_use", "name": "search", "input": {"q": "SECRET"}},
            {"type": "text", "text": "Here is the summary."}]}]},
        {"uuid": "u-2", "name": "empty", "chat_messages": []}]
    [item] = parse_input(export)
    assert (item.id, item.source_type, item.title) == ("u-1", "claude", "summarise my notes")
    assert "SECRET" not in item.text and "서울 맛집 목록" in item.text
    assert item.timestamp == 1714557600.0


def test_gemini_prompts_close_in_time_are_one_conversation():
    def record(time: str, prompt: str, answer: str | None = "<p>an &amp; answer</p>") -> dict:
        return {"header": "Gemini Apps", "title": f"Prompted {prompt}", "time": time,
                "products": ["Gemini Apps"],
                **({"safeHtmlItem": [{"html": answer}]} if answer else {})}

    activity = [record("2024-05-01T10:10:00Z", "and in spring?"),
                record("2024-05-01T10:00:00Z", "plan Kyoto"),
                {"header": "Gemini Apps", "title": "Used Gemini Apps",
                 "time": "2024-05-01T11:00:00Z", "products": ["Gemini Apps"]},
                record("2024-05-02T09:00:00Z", "sourdough starter")]
    first, second = parse_input(activity)
    assert first.title == "plan Kyoto" and first.num_sections == 2
    assert first.text == "plan Kyoto\nan & answer\n\nand in spring?\nan & answer"
    assert second.title == "sourdough starter" and second.source_type == "gemini"


def test_a_google_activity_without_gemini_prompts_is_an_input_error():
    with pytest.raises(InputError, match="Gemini Apps prompt"):
        parse_input([{"header": "Search", "title": "Searched for x", "time": "2024-05-01T10:00Z",
                      "products": ["Search"]}])
