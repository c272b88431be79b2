"""Every input GraphNode accepts, parsed to ``SourceItem``s, with errors that name the culprit.

Formats: ChatGPT exports (``parsing.parse_chatgpt_export``), flat message lists, notes
(``{"source_nodes": [...]}``) and bundles of them (``chat``), and documents: PDF, DOCX, PPTX,
Markdown, plain text (``documents``). ``parse_input`` tells them apart; the rest of the
pipeline only ever sees ``SourceItem``s.
"""

from __future__ import annotations

import json
from pathlib import Path

from tasks.pipeline.errors import InputError
from tasks.pipeline.parsing import SourceItem
from tasks.pipeline.sources.chat import entry_count, parse_json
from tasks.pipeline.sources.documents import _decode, extract_document_text, parse_document

__all__ = ["entry_count", "extract_document_text", "parse_input"]


def _load_json(raw: bytes, name: str) -> object:
    """Decoded JSON, or an ``InputError`` naming the file and the parser's complaint."""
    try:
        return json.loads(_decode(raw, name))
    except json.JSONDecodeError as exc:
        hint = "; pass file_name for a document" if name == "input" else ""
        raise InputError(f"{name}: not valid JSON ({exc}){hint}") from exc


def parse_input(data: object | bytes, file_name: str | None = None) -> list[SourceItem]:
    """Any accepted input to ``SourceItem``s: the single entry point for the tasks.

    Bytes with a file name are read by extension (``.json`` is decoded and dispatched like
    data; documents give one item each); bytes without a name must be JSON. Decoded JSON is
    recognised by shape: ChatGPT export, notes, flat messages, or a bundle of them.
    """
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
        if file_name is None:
            return parse_json(_load_json(raw, "input"))
        if Path(file_name).suffix.lower() == ".json":
            return parse_json(_load_json(raw, file_name))
        return parse_document(raw, file_name)
    return parse_json(data)
