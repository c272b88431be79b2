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

import io
import zipfile
import zlib
from enum import StrEnum

from graphnode.contract.messages import BUNDLE_KEYS


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


# --- the zip a person downloads -------------------------------------------------------------

#: The first bytes of a zip: a local file header, or the end record of an empty archive.
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
#: File names that hold the conversations, by provider: ChatGPT and Claude both write
#: ``conversations.json`` at the zip's root; Google Takeout writes ``MyActivity.json`` under
#: ``Takeout/My Activity/<product>/``, for each product the person chose.
CONVERSATIONS_FILE = "conversations.json"
ACTIVITY_FILE = "myactivity.json"
GEMINI_FOLDERS = ("gemini", "bard")  # Gemini was Bard until February 2024
#: A ChatGPT export of a heavy user holds thousands of image and audio files; a zip with far
#: more entries than that is built to exhaust the central directory's parsing.
MAX_ARCHIVE_ENTRIES = 50_000
#: JSON compresses 5-20x with deflate; a zip bomb's entry is hundreds to millions of times
#: smaller than what it expands to, so beyond this the entry is refused before it is read.
MAX_COMPRESSION_RATIO = 100
#: A small entry may compress better than that (a file of one repeated line) and costs nothing.
RATIO_CHECKED_ABOVE_BYTES = 1024 * 1024
#: Read this much of an entry at a time, counting what it really expands to (the sizes in a
#: zip's headers are the writer's word, not a fact).
READ_CHUNK_BYTES = 1024 * 1024


class ArchiveError(ValueError):
    """A zip that is refused; ``code`` is the API's error code and ``status`` its HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def is_zip(raw: bytes) -> bool:
    return raw[:4] in ZIP_MAGIC


def _unsafe(name: str) -> bool:
    """An entry name that would escape a folder it were extracted to: absolute, a drive, or
    ``..``. Nothing here is extracted, but such a name is never in a real export."""
    parts = name.replace("\\", "/").split("/")
    return name.startswith(("/", "\\")) or ".." in parts or (len(name) > 1 and name[1] == ":")


def _export_entry(entries: list[zipfile.ZipInfo]) -> zipfile.ZipInfo:
    """The entry with the conversations: the shallowest ``conversations.json``, else a Gemini
    ``MyActivity.json``; a 400 that lists what the zip holds when there is neither."""
    files = [entry for entry in entries if not entry.is_dir()]

    def depth(entry: zipfile.ZipInfo) -> int:
        return entry.filename.count("/")

    def base(entry: zipfile.ZipInfo) -> str:
        return entry.filename.rsplit("/", 1)[-1].lower()

    conversations = sorted((e for e in files if base(e) == CONVERSATIONS_FILE), key=depth)
    if conversations:
        return conversations[0]
    activities = [e for e in files if base(e) == ACTIVITY_FILE]
    gemini = [e for e in activities
              if any(word in e.filename.lower() for word in GEMINI_FOLDERS)]
    if gemini:
        return gemini[0]
    shown = ", ".join(e.filename for e in files[:5]) + (", ..." if len(files) > 5 else "")
    if activities:
        raise ArchiveError("no_export_in_zip",
                           "this Google Takeout zip has no Gemini Apps activity (My Activity/"
                           f"Gemini Apps/MyActivity.json); it holds {shown}")
    raise ArchiveError("no_export_in_zip",
                       "the zip holds no conversations.json (ChatGPT, Claude) or Gemini "
                       f"MyActivity.json (Google Takeout); it holds {shown or 'nothing'}")


def _read_entry(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, max_bytes: int) -> bytes:
    """The entry's bytes, never more than ``max_bytes`` of them, whatever its header says."""
    name = entry.filename
    if entry.file_size > max_bytes:
        raise ArchiveError("export_too_large",
                           f"{name} in the zip is {entry.file_size} bytes, over the limit of "
                           f"{max_bytes} bytes (GRAPHNODE_MAX_UPLOAD_BYTES)", status=413)
    ratio = entry.file_size / max(entry.compress_size, 1)
    if entry.file_size > RATIO_CHECKED_ABOVE_BYTES and ratio > MAX_COMPRESSION_RATIO:
        raise ArchiveError("zip_bomb",
                           f"{name} in the zip expands {ratio:.0f} times (at most "
                           f"{MAX_COMPRESSION_RATIO}): refused as a zip bomb")
    out = bytearray()
    try:
        with archive.open(entry) as stream:
            while chunk := stream.read(READ_CHUNK_BYTES):
                out += chunk
                if len(out) > max_bytes or len(out) > entry.file_size:
                    raise ArchiveError("zip_bomb",
                                       f"{name} in the zip expands beyond the {entry.file_size}"
                                       " bytes its header declares: refused as a zip bomb")
    except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError) as exc:
        raise ArchiveError("invalid_zip", f"{name} in the zip cannot be read: {exc}") from None
    return bytes(out)


def read_export_zip(raw: bytes, max_bytes: int) -> tuple[str, bytes]:
    """``(entry name, bytes)`` of the export inside a zip as ChatGPT, Claude or Google Takeout
    deliver it. Read in memory (nothing is extracted to disk) and bounded: refused are zips
    that are not zips, encrypted, with too many entries, unsafe names, nested zips, an entry
    over ``max_bytes`` or one that expands more than a real export can."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, EOFError) as exc:
        raise ArchiveError("invalid_zip", f"the upload starts like a zip but is not one: {exc}"
                           ) from None
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ARCHIVE_ENTRIES:
            raise ArchiveError("too_many_entries",
                               f"the zip has {len(entries)} entries, at most "
                               f"{MAX_ARCHIVE_ENTRIES}")
        for entry in entries:
            if _unsafe(entry.filename):
                raise ArchiveError("unsafe_zip_path",
                                   f"the zip has an entry named {entry.filename!r}, which "
                                   "points outside the archive")
            if entry.filename.lower().endswith(".zip"):
                raise ArchiveError("nested_zip",
                                   f"the zip holds another zip ({entry.filename}): upload the "
                                   "export inside it instead")
        entry = _export_entry(entries)
        if entry.flag_bits & 0x1:
            raise ArchiveError("encrypted_zip",
                               f"{entry.filename} in the zip is encrypted: export it again "
                               "without a password")
        data = _read_entry(archive, entry, max_bytes)
    if is_zip(data):
        raise ArchiveError("nested_zip", f"{entry.filename} in the zip is itself a zip")
    return entry.filename, data
