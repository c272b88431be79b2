"""Microscope bounds: text, unpacked archive size, chunks and entities per document.

A 0.5 MB DOCX once expanded to 205,311 chunks and held a GPU worker for 176 s at 1.6 GB;
past a limit the document now fails with the limit's name, found while it is read.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from graphnode.settings import GpuWorkerSettings
from tasks.pipeline.errors import InputError
from tasks.pipeline.microscope import chunk_document, extract_graph
from tasks.pipeline.sources import extract_document_text
from tests.unit.pipeline.test_pipeline_sources import make_docx, make_pdf, make_pptx

PARAGRAPH = "Sourdough starters need rye flour, warm water and patience every day. " * 14


def expanding_docx(tmp_path: Path, paragraphs: int) -> bytes:
    """Many copies of one paragraph: deflate packs them tight, the text is long."""
    docx = pytest.importorskip("docx")
    document = docx.Document()
    for _ in range(paragraphs):
        document.add_paragraph(PARAGRAPH)
    document.save(tmp_path / "bomb.docx")
    return (tmp_path / "bomb.docx").read_bytes()


def test_a_docx_whose_text_passes_the_limit_fails_while_it_is_read(tmp_path, monkeypatch):
    raw = expanding_docx(tmp_path, 3000)  # ~3 M characters
    assert len(raw) < 100_000
    seen = []
    from tasks.pipeline.sources import documents

    blocks = documents._docx_blocks

    def counted(document):
        for block in blocks(document):
            seen.append(block)
            yield block

    monkeypatch.setattr(documents, "_docx_blocks", counted)
    with pytest.raises(InputError, match=r"bomb\.docx: .*limit of 100,000 characters "
                                         r"\(GRAPHNODE_MAX_DOCUMENT_CHARS\)"):
        extract_document_text(raw, "bomb.docx", max_chars=100_000)
    assert len(seen) < 120  # stopped at the limit, not after all 3,000 paragraphs
    assert len(extract_document_text(raw, "bomb.docx")) > 2_900_000  # no limit given


def test_an_archive_that_unpacks_past_the_limit_is_refused_before_it_is_parsed(
        tmp_path, monkeypatch):
    raw = expanding_docx(tmp_path, 3000)
    docx = pytest.importorskip("docx")

    def never(*args):
        raise AssertionError("the DOCX was parsed")

    monkeypatch.setattr(docx, "Document", never)
    with pytest.raises(InputError, match=r"over the limit of 1,000,000 "
                                         r"\(GRAPHNODE_MAX_DOCUMENT_EXPANDED_BYTES\)"):
        extract_document_text(raw, "bomb.docx", max_expanded_bytes=1_000_000)


def test_a_fake_archive_still_gets_the_readers_own_error():
    with pytest.raises(InputError, match="not a readable DOCX"):
        extract_document_text(b"not a zip at all", "fake.docx", max_expanded_bytes=1000)


@pytest.mark.parametrize("kind", ["pdf", "pptx", "txt", "md"])
def test_every_format_counts_its_text(tmp_path, kind):
    if kind == "pdf":
        raw = make_pdf(["Kitchen notes " * 40, "Rye bread " * 40])
    elif kind == "pptx":
        raw = make_pptx(tmp_path / "deck.pptx")
    else:
        raw = ("# Kitchen\n" + PARAGRAPH * 3).encode()
    full = extract_document_text(raw, f"doc.{kind}")
    assert extract_document_text(raw, f"doc.{kind}", max_chars=len(full) + 10) == full
    with pytest.raises(InputError, match="GRAPHNODE_MAX_DOCUMENT_CHARS"):
        extract_document_text(raw, f"doc.{kind}", max_chars=len(full) // 3)


def test_a_small_document_passes_the_default_limits(tmp_path):
    limits = GpuWorkerSettings()
    raw = make_docx(tmp_path / "kitchen.docx")
    text = extract_document_text(raw, "kitchen.docx", max_chars=limits.max_document_chars,
                                 max_expanded_bytes=limits.max_document_expanded_bytes)
    chunks = chunk_document(text, max_chunks=limits.max_document_chunks)
    graph = extract_graph(chunks, max_entities=limits.max_document_entities)
    assert "sourdough" in text.lower() and graph["entities"]


def test_chunks_past_the_limit_fail_the_document():
    text = PARAGRAPH * 40  # ~40,000 characters: about 40 chunks of 1,200 with overlap
    count = len(chunk_document(text))
    assert len(chunk_document(text, max_chunks=count)) == count
    with pytest.raises(InputError, match=f"limit of {count - 1:,} chunks "
                                         r"\(GRAPHNODE_MAX_DOCUMENT_CHUNKS\)"):
        chunk_document(text, max_chunks=count - 1)


def test_entities_past_the_limit_fail_the_document():
    text = " ".join(f"Station{n} Kettle{n} reports Valley{n} weather." for n in range(60))
    chunks = chunk_document(text, chunk_chars=300, overlap=50)
    found = len(extract_graph(chunks)["entities"])
    assert found > 10
    assert len(extract_graph(chunks, max_entities=found)["entities"]) == found
    with pytest.raises(InputError, match=f"{found:,} entities, over the limit of 10 "
                                         r"\(GRAPHNODE_MAX_DOCUMENT_ENTITIES\)"):
        extract_graph(chunks, max_entities=10)


def test_the_ingest_task_fails_the_job_naming_the_limit(tmp_path, monkeypatch):
    from graphnode.contract.messages import (
        MicroscopeIngestRequest,
        TaskType,
        make_envelope,
        parse_envelope,
    )
    from graphnode.runtime.middleware import JobFailed
    from tasks import microscope

    raw = expanding_docx(tmp_path, 300)

    class Payloads:
        def get_bytes(self, key, sha256):
            return raw

    monkeypatch.setattr(microscope, "payload_store", Payloads)
    monkeypatch.setattr(microscope, "gpu_settings",
                        lambda: GpuWorkerSettings(max_document_chars=50_000))
    request = MicroscopeIngestRequest(userId="alice", inputKey="inputs/k", inputSha256="0" * 64,
                                      groupId="g", documentId="d1", fileName="bomb.docx")
    envelope, _ = parse_envelope(make_envelope(TaskType.MICROSCOPE_INGEST_REQUEST, "d1",
                                               request))
    with pytest.raises(JobFailed, match="GRAPHNODE_MAX_DOCUMENT_CHARS"):
        microscope.ingest.run(envelope, request)
