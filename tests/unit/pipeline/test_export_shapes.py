"""What each piece of a real export becomes, on exports built by ``tests.support.
export_shapes`` in the shapes ChatGPT, Claude and Google Takeout write: per content type, its
marker in node text or not; per provider, 200 conversations to the expected nodes, the empty
ones counted in the job's stats, and no hidden text in the graph's lexicon."""

from __future__ import annotations

import json
import re

import pytest

from tasks.pipeline import jobs
from tasks.pipeline.sources import parse_input
from tests.support import export_shapes as shapes
from tests.unit.pipeline.test_pipeline_jobs import SETTINGS, TopicEmbedder

TURNS = ("How do I keep a sourdough starter alive in summer?",
         "Feed it twice a day and keep it somewhere cool.",
         "냉장고에 넣어도 되나요?",
         "네, 일주일에 한 번 먹이를 주면 됩니다.")
MARKERS = re.compile(r"gnmark\w+")


def conversation(piece: str) -> shapes.Conversation:
    return shapes.Conversation(index=7, title="Sourdough", start=shapes.EPOCH, turns=TURNS,
                               piece=piece)


@pytest.mark.parametrize(("piece", "kept"), shapes.CHATGPT_PIECES.items())
def test_each_chatgpt_piece_is_kept_or_left_out_on_purpose(piece, kept):
    [item] = parse_input([shapes.chatgpt_conversation(conversation(piece))])
    assert (shapes.marker(piece) in item.text) is kept
    assert all(turn in item.text for turn in TURNS)  # the conversation itself, whole
    assert item.source_type == "chatgpt" and item.title == "Sourdough"


@pytest.mark.parametrize(("piece", "kept"), shapes.CLAUDE_PIECES.items())
def test_each_claude_piece_is_kept_or_left_out_on_purpose(piece, kept):
    [item] = parse_input([shapes.claude_conversation(conversation(piece))])
    assert (shapes.marker(piece) in item.text) is kept
    assert all(turn in item.text for turn in TURNS)
    assert item.source_type == "claude"


@pytest.mark.parametrize(("piece", "kept"), shapes.GEMINI_PIECES.items())
def test_each_gemini_record_is_kept_or_left_out_on_purpose(piece, kept):
    [item] = parse_input(list(shapes.gemini_records(conversation(piece))))
    assert (shapes.marker(piece) in item.text) is kept
    assert all(turn in item.text for turn in TURNS)
    assert item.source_type == "gemini"


@pytest.mark.parametrize(("build", "empty"), [
    (shapes.chatgpt_conversation, shapes.CHATGPT_EMPTY),
    (shapes.claude_conversation, shapes.CLAUDE_EMPTY)])
def test_conversations_without_text_give_no_node_and_are_counted(build, empty):
    export = [build(conversation(piece)) for piece in ("none", *empty)]
    items = parse_input(export)
    assert len(items) == 1
    assert jobs.entries_without_text(export, items) == len(empty)


EXPORTS = {"chatgpt": shapes.chatgpt_export, "claude": shapes.claude_export,
           "gemini": shapes.gemini_activity}
PIECES = {"chatgpt": shapes.CHATGPT_PIECES, "claude": shapes.CLAUDE_PIECES,
          "gemini": shapes.GEMINI_PIECES}


@pytest.mark.parametrize("source_type", sorted(EXPORTS))
def test_two_hundred_conversations_of_each_provider(source_type):
    export = EXPORTS[source_type](200)
    assert export == EXPORTS[source_type](200)  # deterministic
    items = parse_input(export)
    empty = shapes.conversations_without_text(source_type, 200)
    assert len(items) == 200 - empty
    assert {item.source_type for item in items} == {source_type}
    assert len({item.id for item in items}) == len(items)
    found = set(MARKERS.findall(" ".join(item.text for item in items)))
    assert found == {shapes.marker(p) for p, kept in PIECES[source_type].items() if kept}


def test_hidden_pieces_stay_out_of_the_graph_and_its_lexicon():
    export = shapes.chatgpt_export(60)
    output = jobs.generate_graph(export, embedder=TopicEmbedder(), generator=None,
                                 settings=SETTINGS, min_clusters=2, max_clusters=5,
                                 report=lambda *_: None)
    hidden = {shapes.marker(p) for p, kept in shapes.CHATGPT_PIECES.items() if not kept}
    hidden.add(shapes.marker("dalle"))
    written = json.dumps(output.documents, ensure_ascii=False)
    assert not hidden & set(MARKERS.findall(written))
    assert output.stats["withoutText"] == shapes.conversations_without_text("chatgpt", 60) > 0
    assert output.stats["nodes"] == 60 - output.stats["withoutText"]
