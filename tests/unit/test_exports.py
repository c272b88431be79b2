"""Exports as people download them: the shape recogniser shared by the API and the parsers,
and zips read in memory, bounded, with hostile ones refused by a JSON 4xx naming the reason."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from graphnode.contract import exports
from graphnode.contract.exports import ExportFormat, export_format
from tests.unit.test_api import EXPORT, app, auth, client, sent, settings  # noqa: F401

CLAUDE = [{"uuid": "c1", "name": "Trip", "created_at": "2024-05-01T10:00:00Z",
           "chat_messages": [{"sender": "human", "text": "plan a trip to Kyoto"}]}]
GEMINI = [{"header": "Gemini Apps", "title": "Prompted plan a trip to Kyoto",
           "time": "2024-05-01T10:00:00.123Z", "products": ["Gemini Apps"],
           "safeHtmlItem": [{"html": "<p>Start at Fushimi Inari.</p>"}]}]


def zip_of(files: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def chatgpt_zip_bytes(conversations: object = EXPORT) -> bytes:
    """The files of ChatGPT's "Export data" zip, all at its root."""
    return zip_of({"conversations.json": json.dumps(conversations).encode(),
                   "chat.html": b"<html><body>chats</body></html>",
                   "user.json": b'{"id": "user-1", "email": "a@example.com"}',
                   "message_feedback.json": b"[]",
                   "file-AbC123.png": b"\x89PNG\r\n\x1a\n" + bytes(64)})


@pytest.mark.parametrize(("data", "expected"), [
    (EXPORT, ExportFormat.CHATGPT),
    (EXPORT[0], ExportFormat.CHATGPT),
    (CLAUDE, ExportFormat.CLAUDE),
    (CLAUDE[0], ExportFormat.CLAUDE),
    (GEMINI, ExportFormat.GEMINI),
    ([{"role": "user", "content": "hi"}], ExportFormat.MESSAGES),
    ([[{"role": "user", "content": "hi"}]], ExportFormat.MESSAGES),
    ({"source_nodes": []}, ExportFormat.NOTES),
    ({"conversations": EXPORT, "notes": []}, ExportFormat.BUNDLE),
    ([], None),
    ([{"id": "user-1", "email": "a@example.com"}], None),  # Claude's users.json
    ({"email": "a@example.com"}, None),  # ChatGPT's user.json
    ("conversations", None),
])
def test_export_format_by_shape(data, expected):
    assert export_format(data) == expected


def post_file(client, settings, raw: bytes, name: str = "export.zip"):  # noqa: F811
    return client.post("/v1/graphs/generate", data={"file": (io.BytesIO(raw), name)},
                       headers=auth(settings), content_type="multipart/form-data")


def stored_input(app, payload):  # noqa: F811
    return app.extensions["graphnode"].payloads.get_json(payload.inputKey, payload.inputSha256)


@pytest.mark.parametrize(("files", "expected"), [
    ({"conversations.json": json.dumps(EXPORT).encode()}, EXPORT),
    ({"conversations.json": json.dumps(CLAUDE).encode(), "users.json": b"[]",
      "projects.json": b"[]"}, CLAUDE),
    ({"Takeout/archive_browser.html": b"<html></html>",
      "Takeout/My Activity/Search/MyActivity.json": b"[]",
      "Takeout/My Activity/Gemini Apps/MyActivity.json": json.dumps(GEMINI).encode(),
      "Takeout/My Activity/Gemini Apps/MyActivity.html": b"<html></html>"}, GEMINI),
    # A person who zipped the folder they unpacked: the export sits one level down.
    ({"chatgpt-export/conversations.json": json.dumps(EXPORT).encode(),
      "chatgpt-export/chat.html": b""}, EXPORT),
], ids=["chatgpt", "claude", "gemini-takeout", "zipped-folder"])
def test_a_provider_zip_as_downloaded_is_accepted(client, settings, sent, app, files,  # noqa: F811
                                                  expected):
    response = post_file(client, settings, zip_of(files))
    assert response.status_code == 202, response.get_json()
    assert stored_input(app, sent[-1][2]) == expected


def test_the_chatgpt_zip_is_read_whatever_it_is_called_or_typed_as(
        client, settings, sent, app):  # noqa: F811
    raw = chatgpt_zip_bytes()
    by_name = post_file(client, settings, raw, name="conversations.json")
    bare = client.post("/v1/graphs/generate", data=raw, headers=auth(settings),
                       content_type="application/zip")
    assert by_name.status_code == bare.status_code == 202
    assert stored_input(app, sent[-1][2]) == EXPORT


def lying_sizes(raw: bytes, declared: int) -> bytes:
    """The zip with the entry's size fields in both headers rewritten to ``declared``."""
    out = bytearray(raw)
    size = declared.to_bytes(4, "little")
    local = out.index(b"PK\x03\x04")
    out[local + 22:local + 26] = size
    central = out.index(b"PK\x01\x02")
    out[central + 24:central + 28] = size
    return bytes(out)


@pytest.mark.parametrize(("raw", "status", "code", "words"), [
    (zip_of({"conversations.json": bytes(20 * 1024 * 1024)}), 400, "zip_bomb", "expands"),
    (lying_sizes(zip_of({"conversations.json": b"[" + b" " * 500_000 + b"]"}), 100), 400,
     "invalid_zip", "cannot be read"),
    (zip_of({"../../etc/cron.d/x": b"", "conversations.json": b"[]"}), 400, "unsafe_zip_path",
     "outside"),
    (zip_of({"/abs/conversations.json": b"[]"}), 400, "unsafe_zip_path", "outside"),
    (zip_of({"inner.zip": chatgpt_zip_bytes()}), 400, "nested_zip", "inner.zip"),
    (zip_of({"conversations.json": chatgpt_zip_bytes()}, compression=zipfile.ZIP_STORED), 400,
     "nested_zip", "itself a zip"),
    (zip_of({"chat.html": b"<html></html>", "user.json": b"{}"}), 400, "no_export_in_zip",
     "chat.html"),
    (zip_of({"Takeout/My Activity/Search/MyActivity.json": b"[]"}), 400, "no_export_in_zip",
     "Gemini"),
    (zip_of({"conversations.json": b"not json"}), 400, "invalid_json",
     "conversations.json in the zip"),
    (zip_of({"conversations.json": json.dumps([{"id": "u", "email": "a@b.c"}]).encode()}), 400,
     "invalid_export", "Claude"),
    (b"PK\x03\x04" + bytes(100), 400, "invalid_zip", "not one"),
    (b"%PDF-1.7 \x85\x00", 400, "invalid_json", "neither JSON nor a zip"),
], ids=["bomb-ratio", "lying-header", "dot-dot", "absolute", "nested-entry", "nested-export",
        "no-export", "takeout-without-gemini", "not-json", "users-json", "truncated",
        "not-a-zip"])
def test_hostile_or_wrong_zips_answer_a_json_4xx_naming_the_reason(client, settings, sent,  # noqa: F811
                                                                   raw, status, code, words):
    response = post_file(client, settings, raw)
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == code and words in error["message"], error
    assert sent == []  # nothing was accepted


def test_an_entry_over_the_upload_limit_is_refused_before_it_is_read(client, settings, sent,  # noqa: F811
                                                                     monkeypatch):
    monkeypatch.setattr(exports, "RATIO_CHECKED_ABOVE_BYTES", 1 << 40)
    raw = zip_of({"conversations.json": bytes(settings.max_upload_bytes + 1)})
    response = post_file(client, settings, raw)
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "export_too_large"


def test_encrypted_and_crowded_zips_are_refused(client, settings, monkeypatch):  # noqa: F811
    # The flag a password-protected entry carries, in both headers (zipfile cannot encrypt).
    raw = bytearray(zip_of({"conversations.json": b"[]"}))
    raw[raw.index(b"PK\x03\x04") + 6] |= 0x1
    raw[raw.index(b"PK\x01\x02") + 8] |= 0x1
    encrypted = post_file(client, settings, bytes(raw)).get_json()["error"]
    assert encrypted["code"] == "encrypted_zip"
    monkeypatch.setattr(exports, "MAX_ARCHIVE_ENTRIES", 3)
    crowded = post_file(client, settings, chatgpt_zip_bytes()).get_json()["error"]
    assert crowded["code"] == "too_many_entries" and "at most 3" in crowded["message"]


def test_an_unrecognised_json_export_names_the_formats(client, settings, sent):  # noqa: F811
    response = client.post("/v1/graphs/generate", json=[{"id": "user-1", "email": "a@b.c"}],
                           headers=auth(settings))
    assert response.status_code == 400
    message = response.get_json()["error"]["message"]
    assert "keys email, id" in message
    assert all(word in message for word in ("ChatGPT", "Claude", "Gemini"))


def test_a_presigned_zip_upload_then_generate(client, settings, sent, app):  # noqa: F811
    raw = chatgpt_zip_bytes()
    ticket = client.post("/v1/uploads", json={"size": len(raw), "contentType": "application/zip"},
                         headers=auth(settings))
    assert ticket.status_code == 201, ticket.get_json()
    ticket = ticket.get_json()
    assert ticket["headers"]["Content-Type"] == "application/zip"
    payloads = app.extensions["graphnode"].payloads
    payloads.client.put_object(Bucket=payloads.bucket, Key=ticket["uploadKey"], Body=raw,
                               ContentType="application/zip")
    accepted = client.post("/v1/graphs/generate", json={"uploadKey": ticket["uploadKey"]},
                           headers=auth(settings))
    assert accepted.status_code == 202, accepted.get_json()
    assert stored_input(app, sent[-1][2]) == EXPORT
