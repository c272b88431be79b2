"""Exports as people download them, through the CLI of the real stack to COMPLETED graphs:
the ChatGPT zip, a Claude zip and a Google Takeout zip of Gemini Apps. The Claude and Gemini
exports are the bundled sample's conversations rewritten in those services' shapes, so each
should come back with a node per conversation, of its provider."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime

import pytest

from graphnode.auth import mint_token
from graphnode.client import ApiClient
from graphnode.samples import load_sample_export
from tasks.pipeline.sources import parse_input
from tests.integration.test_cli_remote import graphnode

pytestmark = pytest.mark.integration


def zip_of(files: dict[str, object]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data if isinstance(data, bytes) else json.dumps(data))
    return buffer.getvalue()


def iso(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).isoformat().replace("+00:00", "Z")


def sample_turns() -> list[tuple[str, float, list[str]]]:
    """(title, time, sections) of each sample conversation, as the ChatGPT parser reads it."""
    return [(item.title, item.timestamp or 1.7e9, item.text.split("\n\n"))
            for item in parse_input(load_sample_export())]


def claude_export() -> list[dict]:
    return [{"uuid": f"claude-{i}", "name": title, "created_at": iso(stamp),
             "account": {"uuid": "acct"},
             "chat_messages": [{"uuid": f"m-{i}-{j}", "sender": ("human", "assistant")[j % 2],
                                "text": text, "created_at": iso(stamp + j),
                                "content": [{"type": "text", "text": text},
                                            {"type": "thinking", "thinking": "HIDDEN"}],
                                "attachments": [], "files": []}
                               for j, text in enumerate(sections)]}
            for i, (title, stamp, sections) in enumerate(sample_turns())]


def gemini_activity() -> list[dict]:
    """A record per prompt and answer; conversations a day apart, their turns a minute."""
    records = []
    for i, (_, _, sections) in enumerate(sample_turns()):
        for j in range(0, len(sections), 2):
            answer = sections[j + 1] if j + 1 < len(sections) else ""
            records.append({"header": "Gemini Apps", "title": f"Prompted {sections[j]}",
                            "time": iso(1.7e9 + i * 86400 + j * 60),
                            "products": ["Gemini Apps"],
                            "activityControls": ["Gemini Apps Activity"],
                            "safeHtmlItem": [{"html": f"<p>{answer}</p>"}]})
        records.append({"header": "Gemini Apps", "title": "Used Gemini Apps",
                        "time": iso(1.7e9 + i * 86400 + 3000), "products": ["Gemini Apps"]})
    return records


ZIPS = {
    "chat": lambda: zip_of({"conversations.json": load_sample_export(), "user.json": {},
                            "chat.html": b"<html></html>", "message_feedback.json": []}),
    "claude": lambda: zip_of({"conversations.json": claude_export(), "users.json": [],
                              "projects.json": []}),
    "gemini": lambda: zip_of({
        "Takeout/archive_browser.html": b"<html></html>",
        "Takeout/My Activity/Gemini Apps/MyActivity.json": gemini_activity()}),
}


@pytest.mark.parametrize("source_type", sorted(ZIPS))
def test_the_cli_submits_each_zip_as_downloaded(stack, api_settings, tmp_path, source_type):
    path = tmp_path / f"{source_type}-export.zip"
    path.write_bytes(ZIPS[source_type]())
    token = mint_token(api_settings, f"zip-{source_type}")
    run = graphnode(stack, token, "submit", str(path))
    assert run.returncode == 0, run.stderr[-2000:]
    conversations = len(load_sample_export())
    assert f"{conversations} nodes ({source_type} {conversations})" in run.stdout, run.stdout
    graph = ApiClient(stack.api_url, token).my_graph()
    assert {node["sourceType"] for node in graph["nodes"]} == {source_type}
    assert len(graph["metadata"]["clusters"]) >= 3
    assert "HIDDEN" not in json.dumps(graph)
