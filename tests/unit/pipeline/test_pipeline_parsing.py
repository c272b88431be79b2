"""ChatGPT export parsing: the active branch only, visible chat text only, clear errors."""

from __future__ import annotations

import copy
import json
import unicodedata
from typing import Any

import pytest

from tasks.pipeline.errors import InputError
from tasks.pipeline.parsing import (
    SourceItem,
    clean_text,
    content_id,
    parse_chatgpt_export,
    timestamp_of,
)
from tasks.pipeline.sources import parse_input


def message(role: str, *parts: object, create_time: float | None = None, **extra: Any) -> dict:
    return {
        "author": {"role": role},
        "content": {"content_type": "text", "parts": list(parts)},
        "create_time": create_time,
        **extra,
    }


def node(node_id: str, parent: str | None, children: list[str], msg: dict | None) -> dict:
    return {"id": node_id, "parent": parent, "children": children, "message": msg}


def branching_conversation() -> dict:
    """root -> system -> u1 -> a1 -> {u2-old -> a2-old, u2 -> tool -> a2 (current)}."""
    mapping = {
        "root": node("root", None, ["sys"], None),
        "sys": node("sys", "root", ["u1"], message("system", "You are ChatGPT.")),
        "u1": node("u1", "sys", ["a1"], message("user", "How do I feed a sourdough starter?",
                                                 create_time=1700000000.0)),
        "a1": node("a1", "u1", ["u2-old", "u2"], message("assistant", "Feed it flour and water.")),
        "u2-old": node("u2-old", "a1", ["a2-old"], message("user", "ABANDONED question")),
        "a2-old": node("a2-old", "u2-old", [], message("assistant", "ABANDONED answer")),
        "u2": node("u2", "a1", ["tool"], message("user", "", {"asset": "image"}, "And rye?")),
        "tool": node("tool", "u2", ["a2"], message("tool", "TOOL OUTPUT")),
        "a2": node("a2", "tool", [], message("assistant", "Rye works well.")),
    }
    return {
        "title": "Sourdough",
        "id": "abc-123",
        "create_time": 1700000000.5,
        "update_time": 1700000100.0,
        "current_node": "a2",
        "mapping": mapping,
    }


def test_follows_the_active_branch_and_keeps_only_user_and_assistant_text():
    [item] = parse_chatgpt_export([branching_conversation()])
    assert isinstance(item, SourceItem)
    assert item.text == (
        "How do I feed a sourdough starter?\n\nFeed it flour and water.\n\nAnd rye?\n\n"
        "Rye works well."
    )
    assert "ABANDONED" not in item.text
    assert "ChatGPT" not in item.text and "TOOL" not in item.text
    assert item.num_sections == 4
    assert (item.id, item.title, item.source_type) == ("abc-123", "Sourdough", "chatgpt")
    assert item.timestamp == 1700000000.5


def test_ids_fall_back_to_conversation_id_then_content():
    a = branching_conversation()
    del a["id"]
    a["conversation_id"] = "conv-uuid"
    b = branching_conversation()
    del b["id"]
    items = parse_chatgpt_export([a, b])
    assert items[0].id == "conv-uuid"
    assert items[1].id == content_id("conv", "Sourdough", items[1].text)


def conversation_without_id(title: str, question: str, answer: str) -> dict:
    return {"title": title, "current_node": "a", "mapping": {
        "u": node("u", None, ["a"], message("user", question)),
        "a": node("a", "u", [], message("assistant", answer)),
    }}


def test_conversations_without_ids_in_two_batches_do_not_collide():
    # Regression (item 9): both batches' first conversation used to be "conv-0".
    first = [conversation_without_id("Sourdough", "How do I feed a starter?", "Flour, water."),
             conversation_without_id("김치", "김치는 어떻게 담가요?", "배추를 소금에 절여요.")]
    second = [conversation_without_id("Rye", "Is rye flour good?", "Yes."),
              conversation_without_id("된장찌개", "된장찌개 끓이는 법?", "멸치 육수를 내요.")]
    first_ids = [i.id for i in parse_chatgpt_export(first)]
    second_ids = [i.id for i in parse_chatgpt_export(second)]
    assert all(i.startswith("conv-") for i in first_ids + second_ids)
    assert len(set(first_ids + second_ids)) == 4
    # Stable: the same conversation sent again (alone, or later in a list) keeps its id.
    assert [i.id for i in parse_chatgpt_export(first[1:])] == first_ids[1:]
    assert [i.id for i in parse_chatgpt_export([*second, *first])][2:] == first_ids


def test_content_ids_ignore_unicode_form_and_spacing_only():
    composed = content_id("note", "김치", "배추를  소금에\n절여요.")
    assert content_id("note", unicodedata.normalize("NFD", "김치"), "배추를 소금에 절여요.") == (
        composed
    )
    assert content_id("note", "김치", "배추를 소금에 절여요!") != composed
    assert content_id("note", "김치 배추를", "소금에 절여요.") != composed  # parts stay apart


def test_same_conversation_twice_without_ids_keeps_repeats_unique():
    conv = conversation_without_id("Sourdough", "How do I feed a starter?", "Flour, water.")
    first, second = (i.id for i in parse_chatgpt_export([conv, copy.deepcopy(conv)]))
    assert second == f"{first}-2"


def test_duplicate_ids_are_made_unique():
    items = parse_chatgpt_export([branching_conversation(), branching_conversation()])
    assert [i.id for i in items] == ["abc-123", "abc-123-2"]


def with_id(conv_id: str) -> dict:
    conv = branching_conversation()
    conv["id"] = conv_id
    return conv


def test_renamed_duplicate_ids_skip_suffixes_already_taken():
    # Regression: "x" repeated at index 2 used to become "x-2", colliding with the first id.
    items = parse_chatgpt_export([with_id("x-2"), with_id("x"), with_id("x")])
    assert [i.id for i in items] == ["x-2", "x", "x-3"]
    items = parse_chatgpt_export([with_id("x"), with_id("x-2"), with_id("x"), with_id("x")])
    assert [i.id for i in items] == ["x", "x-2", "x-3", "x-4"]


def test_export_with_colliding_ids_reaches_the_graph_with_unique_ids():
    export = [with_id("x-2"), with_id("x"), with_id("x")]
    ids = [i.id for i in parse_input(json.dumps(export).encode(), "conversations.json")]
    assert len(set(ids)) == len(ids) == 3


def test_conversations_without_text_are_dropped_and_hidden_messages_skipped():
    empty = branching_conversation()
    empty["id"] = "empty"
    for n in empty["mapping"].values():
        if n["message"] and n["message"]["author"]["role"] in ("user", "assistant"):
            n["message"]["content"]["parts"] = ["   "]
    hidden = branching_conversation()
    hidden["mapping"]["u1"]["message"]["metadata"] = {"is_visually_hidden_from_conversation": True}
    items = parse_chatgpt_export([empty, hidden])
    assert len(items) == 1
    assert "sourdough starter" not in items[0].text
    assert items[0].num_sections == 3


def test_missing_current_node_follows_the_latest_leaf_and_missing_title_is_untitled():
    conv = branching_conversation()
    del conv["current_node"], conv["title"]
    conv["mapping"]["a2"]["message"]["create_time"] = 1700000500.0
    [item] = parse_chatgpt_export([conv])
    assert "Rye works well." in item.text and item.title == "Untitled"


@pytest.mark.parametrize("current", ["nope", 7])
def test_dangling_current_node_follows_the_latest_leaf(current):
    conv = branching_conversation()
    conv["current_node"] = current
    conv["mapping"]["a2"]["message"]["create_time"] = 1700000500.0
    [item] = parse_chatgpt_export([conv])
    assert "Rye works well." in item.text


def test_timestamp_falls_back_to_update_time_then_first_message():
    conv = branching_conversation()
    conv["create_time"] = None
    assert parse_chatgpt_export([conv])[0].timestamp == 1700000100.0
    conv["update_time"] = "not a time"
    assert parse_chatgpt_export([conv])[0].timestamp == 1700000000.0


def broken(change) -> list:
    conv = copy.deepcopy(branching_conversation())
    change(conv)
    return [branching_conversation(), conv]


def set_key(key: str, value: object):
    return lambda conv: conv.__setitem__(key, value)


def make_cycle(conv: dict) -> None:
    conv["mapping"]["root"]["parent"] = "a2"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"conversations": []}, ["export", "must be a list", "dict"]),
        ([], ["export", "empty"]),
        ([branching_conversation(), "oops"], ["conversation 1", "must be an object", "str"]),
        (broken(lambda c: c.pop("mapping")), ["conversation 1 ('Sourdough')", "'mapping'",
                                              "missing"]),
        (broken(set_key("mapping", [])), ["conversation 1 ('Sourdough')", "'mapping'",
                                          "must be an object"]),
        (broken(make_cycle), ["conversation 1", "cycle"]),
        (broken(lambda c: c["mapping"].__setitem__("a1", "x")), ["conversation 1", "'a1'",
                                                                 "must be an object"]),
        ([{"title": "t", "mapping": {"r": node("r", None, [], None)}, "current_node": "r"}],
         ["none of the 1 conversations", "text"]),
    ],
    ids=["not-a-list", "empty", "not-an-object", "no-mapping", "mapping-not-object",
         "cycle", "node-not-object", "no-text"],
)
def test_malformed_exports_raise_input_error_naming_item_field_and_reason(data, expected):
    with pytest.raises(InputError) as caught:
        parse_chatgpt_export(data)
    for fragment in expected:
        assert fragment in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_clean_text_strips_code_urls_and_markup():
    raw = (
        "# Title\n\nSee **bold** and *italic* and __strong__ text at https://example.com/x?y=1 "
        "or www.example.org.\n\n```python\ndef f():\n    return 1\n```\n"
        "> quoted line\n- bullet item\n1. numbered\n<b>html</b> [a link](http://x.y) "
        "![img alt](http://x.y/i.png) `inline_code` snake_case_name ~~gone~~\n---\n| a | b |"
    )
    out = clean_text(raw)
    assert out == (
        "Title See bold and italic and strong text at or quoted line bullet item numbered "
        "html a link img alt inline_code snake_case_name gone a b"
    )


def test_clean_text_handles_unclosed_fences_and_empty_input():
    assert clean_text("before ```\ncode never closed") == "before"
    assert clean_text("") == ""
    assert clean_text("  plain\n\n\ttext  ") == "plain text"


def test_a_parent_missing_from_the_mapping_ends_the_branch():
    conv = branching_conversation()
    conv["mapping"]["u2"]["parent"] = "deleted-node"
    [item] = parse_chatgpt_export([conv])
    assert item.text == "And rye?\n\nRye works well." and item.num_sections == 2


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("see https://example.com/a?b=1, (https://x.y/z) and www.foo.org/p.", "see and"),
        ("mail bob@example.com or <https://auto.link/x> or <mailto:a@b.c>", "mail or or"),
        ("before\n```py\nimport os\n```\nmiddle\n~~~\nrm -rf /\n~~~\nafter", "before middle after"),
        ("use `pip install x` or ``a ` b`` here", "use pip install x or a b here"),
        ("***both*** *it* _it_ __strong__ ~~gone~~ snake_case 2*3*4",
         "both it it strong gone snake_case 2*3*4"),
        ("Title\n=====\nSub\n-----\n## H2 ##\n###### H6", "Title Sub H2 H6"),
        ("[text](https://x.com/a_(b)) ![alt](i.png) [ref text][r] [^1]\n\n[r]: https://x.com \"T\"",
         "text alt ref text"),
        ("<p class=\"a\">para</p><br/><!-- hidden\ncomment --><script>var x = 1;</script>"
         "<style>p { color: red }</style>ok", "para ok"),
        ("Tom &amp; Jerry &lt;div&gt; caf&eacute; &#39;q&#39;&nbsp;end",
         "Tom & Jerry <div> café 'q' end"),
        ("| a | b |\n|---|:---:|\n| 1 | 2 |", "a b 1 2"),
    ],
    ids=["urls", "emails-autolinks", "fenced-code", "inline-code", "emphasis", "headers",
         "links", "html", "entities", "tables"],
)
def test_clean_text_handles_each_kind_of_markup(raw, expected):
    assert clean_text(raw) == expected


def test_timestamp_of_reads_numbers_and_iso_strings():
    assert timestamp_of(1714557600) == 1714557600.0
    assert timestamp_of("1714557600.5") == 1714557600.5
    assert timestamp_of("2024-05-01T10:00:00Z") == 1714557600.0
    assert timestamp_of("2024-05-01T19:00:00+09:00") == 1714557600.0
    assert timestamp_of("2024-05-01T10:00:00") == 1714557600.0  # naive means UTC
    for bad in ("yesterday", True, None, float("nan"), [1]):
        assert timestamp_of(bad) is None


def test_item_text_is_the_cleaned_title_and_body():
    from tasks.pipeline.parsing import SourceItem, item_text

    item = SourceItem(id="a", title="Fix **bug**", text="See https://x.io/y and\n```\ncode\n```",
                      timestamp=None, num_sections=1)
    text = item_text(item)
    assert text.startswith("Fix bug.") and "https" not in text and "code" not in text
