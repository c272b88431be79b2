"""Every input format to SourceItems: messages, notes, documents, bundles; clear errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from tasks.pipeline.errors import InputError
from tasks.pipeline.parsing import SourceItem, unique_ids
from tasks.pipeline.sources import extract_document_text, parse_input
from tasks.pipeline.sources.chat import parse_messages, parse_notes
from tasks.pipeline.sources.documents import parse_document, parse_text_document

# --- builders -------------------------------------------------------------------------------


def make_pdf(pages: list[str]) -> bytes:
    """A minimal valid PDF, one Helvetica text line per page, with a correct xref table."""
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>"
        % (b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(len(pages))), len(pages)),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, text in enumerate(pages):
        stream = b"BT /F1 18 Tf 72 720 Td (%s) Tj ET" % text.encode("latin-1") if text else b""
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (5 + 2 * i)
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.writelines(b"%010d 00000 n \n" % offset for offset in offsets)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
              % (len(objects) + 1, xref))
    return out.getvalue()


def make_docx(path: Path) -> bytes:
    docx = pytest.importorskip("docx")
    document = docx.Document()
    document.add_heading("Kitchen Notes", 0)
    document.add_paragraph("How to keep a sourdough starter alive.")
    document.add_heading("Rye", 1)
    document.add_paragraph("Rye flour ferments faster.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "flour", "500 g"
    table.cell(1, 0).text, table.cell(1, 1).text = "water", "350 g"
    document.save(path)
    return path.read_bytes()


def make_pptx(path: Path) -> bytes:
    pptx = pytest.importorskip("pptx")
    from pptx.util import Inches

    deck = pptx.Presentation()
    first = deck.slides.add_slide(deck.slide_layouts[1])
    first.shapes.title.text = "Quarterly Plan"
    first.placeholders[1].text = "Grow revenue\nHire engineers"
    first.notes_slide.notes_text_frame.text = "Mention the hiring freeze."
    second = deck.slides.add_slide(deck.slide_layouts[5])
    second.shapes.title.text = "Budget"
    table = second.shapes.add_table(2, 2, Inches(1), Inches(2), Inches(4), Inches(1)).table
    table.cell(0, 0).text, table.cell(0, 1).text = "marketing", "travel"
    table.cell(1, 0).text = "hotels"
    group = second.shapes.add_group_shape()
    box = group.shapes.add_textbox(Inches(1), Inches(4), Inches(3), Inches(1))
    box.text_frame.text = "grouped caption"
    deck.slides.add_slide(deck.slide_layouts[6])  # blank slide: no section
    deck.save(path)
    return path.read_bytes()


def chatgpt_conversation(conv_id: str = "c1") -> dict:
    return {
        "id": conv_id,
        "title": "Sourdough",
        "create_time": 1700000000.0,
        "current_node": "a",
        "mapping": {
            "u": {"id": "u", "parent": None, "children": ["a"],
                  "message": {"author": {"role": "user"}, "content": {"parts": ["Feed it?"]}}},
            "a": {"id": "a", "parent": "u", "children": [],
                  "message": {"author": {"role": "assistant"}, "content": {"parts": ["Yes."]}}},
        },
    }


MESSAGES = [
    {"id": "m0", "role": "system", "content": "You are helpful."},
    {"id": "m1", "role": "user", "content": "How do I repot a monstera?",
     "create_time": "2024-05-01T10:00:00Z"},
    {"id": "m2", "role": "assistant", "content": None, "tool_calls": [{"id": "t"}]},
    {"id": "m3", "role": "tool", "content": "TOOL OUTPUT"},
    {"id": "m4", "role": "Assistant", "content": [{"type": "text", "text": "Use a bigger pot."},
                                                  {"type": "image_url", "image_url": "x"}]},
]

NOTES = {
    "source_nodes": [
        {"id": "n1", "title": "Garden plan", "source_type": "notion",
         "create_time": 1714557600,
         "sections": [{"id": "s1", "content": "Tomatoes by the fence."},
                      {"id": "s2", "content": "  "},
                      {"id": "s3", "content": "Basil between them."}]},
        {"id": 7, "sections": [{"id": "s1", "content": "Untitled thought about compost."}]},
        {"id": "empty", "title": "", "sections": []},
    ]
}


def error_of(call, *args) -> str:
    with pytest.raises(InputError) as caught:
        call(*args)
    return str(caught.value)


# --- documents ------------------------------------------------------------------------------


def test_pdf_text_is_extracted_one_section_per_page(tmp_path):
    pytest.importorskip("pypdf")
    path = tmp_path / "Bread Report.pdf"
    pages = ["Sourdough starter feeding schedule", "", "Rye flour hydration notes"]
    path.write_bytes(make_pdf(pages))
    raw = path.read_bytes()
    [item] = parse_input(raw, "Bread Report.pdf")
    assert item.text == "Sourdough starter feeding schedule\n\nRye flour hydration notes"
    assert (item.title, item.num_sections, item.source_type) == ("Bread Report", 2, "pdf")
    assert item.id.startswith("doc-") and parse_document(raw, "other.pdf")[0].id == item.id
    assert extract_document_text(raw, "x.PDF") == item.text


def test_docx_paragraphs_headings_and_tables(tmp_path):
    raw = make_docx(tmp_path / "notes.docx")
    [item] = parse_input(raw, "notes.docx")
    assert item.title == "Kitchen Notes" and item.source_type == "docx"
    assert item.text == (
        "Kitchen Notes\nHow to keep a sourdough starter alive.\n\n"
        "Rye\nRye flour ferments faster.\nflour | 500 g\nwater | 350 g"
    )
    assert item.num_sections == 2
    assert extract_document_text(raw, "notes.docx") == item.text


def test_pptx_slides_notes_tables_and_groups(tmp_path):
    raw = make_pptx(tmp_path / "deck.pptx")
    [item] = parse_input(raw, "deck.pptx")
    assert item.title == "Quarterly Plan" and item.source_type == "pptx"
    assert item.num_sections == 2  # the blank slide adds nothing
    slide1, slide2 = item.text.split("\n\n")
    assert slide1 == "Quarterly Plan\nGrow revenue\nHire engineers\nMention the hiring freeze."
    assert slide2 == "Budget\nmarketing | travel\nhotels\ngrouped caption"


def test_markdown_is_cleaned_and_split_at_headings_outside_code():
    raw = (
        "\ufeffIntro line with a [link](https://x.y) and **bold**.\n\n"
        "# The *Real* Title\n\nFirst part.\n\n```bash\n# not a heading\nrm -rf /\n```\n\n"
        "## Second\n\nSee <b>this</b> &amp; that.\n"
    ).encode()
    [item] = parse_text_document(raw, "garden.md")
    assert item.title == "The Real Title"
    assert item.text == (
        "Intro line with a link and bold.\n\nThe Real Title First part.\n\nSecond See this & that."
    )
    assert (item.num_sections, item.source_type) == (3, "markdown")


def test_plain_text_keeps_its_text_and_takes_the_file_stem_as_title():
    raw = b"Packing list:\n\n  tent,   stove\n\n\n\nand *maps*"
    [item] = parse_input(raw, "trips/Camping 2024.txt")
    assert item.title == "Camping 2024"
    assert item.text == "Packing list:\n\ntent, stove\n\nand *maps*"
    assert item.source_type == "text" and item.num_sections == 1


def test_text_must_be_utf8():
    message = error_of(parse_text_document, "caf\xe9".encode("latin-1"), "menu.txt")
    assert message == "menu.txt: not UTF-8 text (byte 0xe9 at position 3)"


@pytest.mark.parametrize(
    ("name", "make", "expected"),
    [
        ("report.pdf", lambda p: make_pdf(["Hello world"])[:-30],
         "report.pdf: not a readable PDF (EOF marker not found"),
        ("report.pdf", lambda p: b"%PDF-1.4\ngarbage", "report.pdf: not a readable PDF ("),
        ("scan.pdf", lambda p: make_pdf([""]), "scan.pdf: no text found (a scanned PDF needs OCR"),
        ("notes.docx", lambda p: b"PK\x03\x04 not really a zip",
         "notes.docx: not a readable DOCX (File is not a zip file)"),
        ("notes.docx", lambda p: make_pptx(p / "d.pptx"),
         "notes.docx: not a readable DOCX (file is not a Word file"),
        ("deck.pptx", lambda p: b"plain text", "deck.pptx: not a readable PPTX (File is not a zip"),
        ("deck.pptx", lambda p: make_docx(p / "d.docx"), "deck.pptx: not a readable PPTX ("),
        ("empty.md", lambda p: b"", "empty.md: the file is empty (0 bytes)"),
        ("blank.md", lambda p: b"  \n```\ncode only\n```\n", "blank.md: no text found"),
        ("sheet.xlsx", lambda p: b"x", "sheet.xlsx: unsupported file type '.xlsx'; accepted:"),
        ("README", lambda p: b"x", "README: unsupported file without an extension"),
    ],
    ids=["pdf-truncated", "pdf-garbage", "pdf-no-text", "docx-not-zip", "docx-is-pptx",
         "pptx-not-zip", "pptx-is-docx", "empty", "no-text", "unsupported", "no-extension"],
)
def test_bad_documents_raise_input_error_naming_the_file_and_reason(tmp_path, name, make,
                                                                    expected):
    suffix = Path(name).suffix
    module = {".pdf": "pypdf", ".docx": "docx", ".pptx": "pptx"}.get(suffix)
    if module:
        pytest.importorskip(module)
    raw = make(tmp_path)
    message = error_of(parse_input, raw, name)
    assert message.startswith(expected), message
    assert error_of(extract_document_text, raw, name) == message
    assert "BytesIO" not in message


def test_parse_text_document_only_takes_text_files():
    assert error_of(parse_text_document, b"%PDF", "a.pdf").startswith(
        "a.pdf: not a Markdown or text file"
    )


# --- messages -------------------------------------------------------------------------------


def test_flat_messages_are_one_conversation_of_user_and_assistant_text():
    [item] = parse_messages(MESSAGES)
    assert item == SourceItem(
        id="m0",
        title="How do I repot a monstera?",
        text="How do I repot a monstera?\n\nUse a bigger pot.",
        timestamp=1714557600.0,
        num_sections=2,
        source_type="chat",
    )


def test_a_list_of_message_lists_gives_one_item_each_and_long_titles_are_cut():
    long_question = "Please explain " + "very " * 30 + "carefully"
    other = [{"role": "user", "content": long_question}, {"role": "assistant", "content": "OK"}]
    only_system = [{"role": "system", "content": "x"}]
    items = parse_messages([MESSAGES, only_system, other, MESSAGES])
    assert [i.id for i in items[::2]] == ["m0", "m0-2"]
    assert items[1].id.startswith("messages-") and len(items) == 3
    assert items[1].title.endswith("…") and len(items[1].title) <= 81
    assert parse_messages([other])[0].id == items[1].id  # content ids are stable


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"role": "user"}, "messages: must be a list of messages or a list of message lists, "
                           "got dict"),
        ([], "messages: the list is empty"),
        ([{"role": "user", "content": "hi"}, "oops"], "message 1: must be an object, got str"),
        ([{"id": "m9", "content": "hi"}], "message 0 ('m9'): field 'role' is missing"),
        ([{"role": 3, "content": "hi"}], "message 0: field 'role' must be a string, got int"),
        ([{"role": "usr", "content": "hi"}], "message 0: field 'role' is 'usr', expected one of"),
        ([{"role": "user", "content": {"text": "hi"}}],
         "message 0: field 'content' must be a string or a list of parts, got dict"),
        ([[{"role": "user", "content": "hi"}], {"role": "user"}],
         "conversation 1: must be a list of messages, got dict"),
        ([[{"role": "user", "content": "hi"}], [{"role": "user", "content": 5}]],
         "conversation 1, message 0: field 'content' must be a string"),
        ([{"role": "system", "content": "x"}, {"role": "user", "content": " "}],
         "messages: none of the 1 conversations has any user or assistant text"),
    ],
    ids=["not-a-list", "empty", "not-an-object", "no-role", "role-type", "unknown-role",
         "content-type", "nested-not-list", "nested-bad-content", "no-text"],
)
def test_malformed_messages(data, expected):
    message = error_of(parse_messages, data)
    assert message.startswith(expected), message
    first = data[0] if isinstance(data, list) and data else None
    if isinstance(first, list) or (isinstance(first, dict) and "role" in first):
        assert error_of(parse_input, data) == message  # parse_input routes these shapes here


# --- notes ----------------------------------------------------------------------------------


def test_notes_become_one_item_per_source_node():
    items = parse_notes(NOTES)
    assert items[0] == SourceItem(
        id="n1",
        title="Garden plan",
        text="Garden plan\n\nTomatoes by the fence.\n\nBasil between them.",
        timestamp=1714557600.0,
        num_sections=3,
        source_type="notion",
    )
    assert (items[1].id, items[1].title, items[1].source_type) == (
        "7", "Untitled thought about compost.", "note"
    )
    assert items[1].text == "Untitled thought about compost." and items[1].timestamp is None
    assert len(items) == 2  # the node with neither title nor content is dropped


def note_without_id(title: str, content: str) -> dict:
    return {"title": title, "sections": [{"id": "s", "content": content}]}


def test_notes_without_ids_in_two_add_node_batches_do_not_collide():
    # Regression (item 9): the first note of every batch used to be "note-0", so a second
    # add-node batch reused the first batch's node id and the job FAILED.
    first = {"source_nodes": [note_without_id("Garden plan", "Tomatoes by the fence."),
                              note_without_id("텃밭 계획", "울타리 옆에 토마토를 심는다.")]}
    second = {"source_nodes": [note_without_id("Compost", "Turn it weekly."),
                               note_without_id("퇴비", "매주 뒤집어 준다.")]}
    first_ids = [i.id for i in parse_notes(first)]
    second_ids = [i.id for i in parse_notes(second)]
    assert all(i.startswith("note-") for i in first_ids + second_ids)
    assert len(set(first_ids + second_ids)) == 4
    # The same note sent again gets the same id, so add-node recognises it as already there.
    resent = {"source_nodes": [second["source_nodes"][0], first["source_nodes"][1]]}
    assert [i.id for i in parse_input(resent)] == [second_ids[0], first_ids[1]]
    # Repeats within one batch are still made unique.
    twice = {"source_nodes": first["source_nodes"][:1] * 2}
    assert [i.id for i in parse_notes(twice)] == [first_ids[0], f"{first_ids[0]}-2"]


def test_untitled_notes_differ_by_content():
    ids = {i.id for i in parse_notes({"source_nodes": [note_without_id("", "메모 하나"),
                                                        note_without_id("", "메모 둘")]})}
    assert len(ids) == 2


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ([], "notes: must be an object with 'source_nodes', got list"),
        ({"nodes": []}, "notes: field 'source_nodes' is missing"),
        ({"source_nodes": {}}, "notes: field 'source_nodes' must be a list, got dict"),
        ({"source_nodes": []}, "notes: field 'source_nodes' is empty"),
        ({"source_nodes": [3]}, "source node 0: must be an object, got int"),
        ({"source_nodes": [{"title": 5}]},
         "source node 0: field 'title' must be a string, got int"),
        ({"source_nodes": [{"id": {"a": 1}}]},
         "source node 0: field 'id' must be a string or an integer, got dict"),
        ({"source_nodes": [{"title": "T", "sections": "text"}]},
         "source node 0 ('T'): field 'sections' must be a list, got str"),
        ({"source_nodes": [{"title": "T", "sections": ["text"]}]},
         "source node 0 ('T'): section 0: must be an object, got str"),
        ({"source_nodes": [{"title": "T", "sections": [{"id": "s", "content": 1}]}]},
         "source node 0 ('T'): section 0 ('s'): field 'content' must be a string, got int"),
        ({"source_nodes": [{"title": "T", "source_type": 1}]},
         "source node 0 ('T'): field 'source_type' must be a string, got int"),
        ({"source_nodes": [{"id": "x", "sections": [{"content": ""}]}]},
         "notes: none of the 1 source nodes has a title or content"),
    ],
    ids=["not-an-object", "missing", "not-a-list", "empty", "node-type", "title-type", "id-type",
         "sections-type", "section-type", "content-type", "source-type-type", "no-text"],
)
def test_malformed_notes(data, expected):
    message = error_of(parse_notes, data)
    assert message == expected or message.startswith(expected), message


# --- dispatch -------------------------------------------------------------------------------


def test_parse_input_recognises_each_json_shape():
    assert [i.id for i in parse_input([chatgpt_conversation()])] == ["c1"]
    assert [i.id for i in parse_input(chatgpt_conversation("single"))] == ["single"]
    assert [i.id for i in parse_input(NOTES)] == ["n1", "7"]
    assert [i.id for i in parse_input(MESSAGES)] == ["m0"]
    assert [i.id for i in parse_input([MESSAGES, MESSAGES[:2]])] == ["m0", "m0-2"]


def test_bundles_concatenate_parts_and_keep_ids_unique():
    bundle = {
        "conversations": [chatgpt_conversation("n1")],
        "notes": NOTES,
        "source_nodes": [{"id": "extra", "title": "Loose note"}],
    }
    items = parse_input(bundle)
    assert [(i.id, i.source_type) for i in items] == [
        ("n1", "chatgpt"), ("n1-2", "notion"), ("7", "note"), ("extra", "note"),
    ]
    messages_and_note_list = {"conversations": [MESSAGES], "notes": NOTES["source_nodes"]}
    assert [i.id for i in parse_input(messages_and_note_list)] == ["m0", "n1", "7"]
    assert [i.id for i in parse_input({"conversations": [], "notes": NOTES})] == ["n1", "7"]


def test_json_bytes_are_decoded_with_or_without_a_name():
    raw = json.dumps([chatgpt_conversation()]).encode()
    assert parse_input(raw, "conversations.json")[0].id == "c1"
    assert parse_input(bytearray(raw))[0].id == "c1"
    assert error_of(parse_input, b"{oops", "export.json").startswith(
        "export.json: not valid JSON (Expecting property name"
    )
    assert "pass file_name for a document" in error_of(parse_input, b"%PDF-1.4")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ([], "input: the list is empty; accepted: a ChatGPT export"),
        ([1, 2], "input: unrecognised list, element 0 is a int; accepted:"),
        ([{"text": "hi"}], "input: unrecognised list, element 0 is an object with keys ['text']"),
        ({"items": []}, "input: unrecognised object with keys ['items']; accepted:"),
        ("just text", "input: unrecognised str; accepted:"),
        (None, "input: unrecognised NoneType; accepted:"),
        ({"conversations": {}}, "bundle: field 'conversations' must be a list, got dict"),
        ({"conversations": [1]}, "bundle 'conversations': input: unrecognised list"),
        ({"conversations": [chatgpt_conversation(), {"title": "x"}]},
         "bundle 'conversations': conversation 1 ('x'): field 'mapping' is missing"),
        ({"notes": "x"}, "bundle: field 'notes' must be an object, got str"),
        ({"notes": {"source_nodes": [5]}}, "bundle 'notes': source node 0: must be an object"),
        ({"source_nodes": [], "conversations": []}, "bundle: has no conversations or notes"),
    ],
    ids=["empty-list", "list-of-ints", "list-of-unknown", "unknown-object", "str", "none",
         "bundle-conversations-type", "bundle-bad-conversations", "bundle-bad-export",
         "bundle-notes-type", "bundle-bad-notes", "bundle-empty"],
)
def test_unrecognised_or_malformed_input(data, expected):
    message = error_of(parse_input, data)
    assert message.startswith(expected), message
    if "accepted:" in expected:
        for fragment in ("'mapping'", "'source_nodes'", "'role'", "'conversations'", ".pdf"):
            assert fragment in message


def test_unique_ids_suffixes_repeats():
    item = SourceItem(id="a", title="t", text="x", timestamp=None, num_sections=1)
    other = SourceItem(id="a-2", title="t", text="x", timestamp=None, num_sections=1)
    assert [i.id for i in unique_ids([item, other, item, item])] == ["a", "a-2", "a-3", "a-4"]


def test_the_api_accepts_exactly_the_document_types_the_parsers_read():
    from graphnode.contract.messages import DOCUMENT_EXTENSIONS
    from tasks.pipeline.sources.documents import DOCUMENT_TYPES

    assert set(DOCUMENT_TYPES) == DOCUMENT_EXTENSIONS
