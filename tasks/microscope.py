"""MICROSCOPE_INGEST_REQUEST: one workspace document to chunks, entities and relations."""

from __future__ import annotations

from graphnode.celery_app import celery_app
from graphnode.contract import (
    Envelope,
    JobStatus,
    MicroscopeIngestRequest,
    MicroscopeIngestResult,
    TaskType,
)
from graphnode.middleware import EnvelopeTask
from tasks.context import (
    bad_input_fails_the_job,
    gpu_settings,
    payload_store,
    put_outputs,
    text_generator,
)


@celery_app.task(name=TaskType.MICROSCOPE_INGEST_REQUEST.value, base=EnvelopeTask, bind=True)
def ingest(self: EnvelopeTask, envelope: Envelope, request: MicroscopeIngestRequest) -> None:
    from tasks.pipeline.microscope import chunk_document, extract_graph
    from tasks.pipeline.sources import extract_document_text

    limits = gpu_settings()
    with bad_input_fails_the_job():  # past a limit too: the InputError names it
        raw = payload_store().get_bytes(request.inputKey, request.inputSha256)
        self.progress("extracting text", 0.05)
        text = extract_document_text(raw, request.fileName,
                                     max_chars=limits.max_document_chars,
                                     max_expanded_bytes=limits.max_document_expanded_bytes)
        chunks = chunk_document(text, max_chunks=limits.max_document_chunks)
        self.progress("extracting entities", 0.2, f"{len(chunks)} chunks")
        graph = extract_graph(chunks, generator=text_generator(),
                              max_entities=limits.max_document_entities)
    self.progress("storing", 0.95)
    graph["document"] = {"documentId": request.documentId, "fileName": request.fileName}
    keys = put_outputs(request.userId, envelope.taskId, {"graph": graph})
    self.send(TaskType.MICROSCOPE_INGEST_RESULT, envelope.taskId, MicroscopeIngestResult(
        userId=request.userId, status=JobStatus.COMPLETED, outputKeys=keys,
        groupId=request.groupId, documentId=request.documentId,
        stats={"chunks": len(chunks), "entities": len(graph["entities"]),
               "relations": len(graph["relations"])},
    ))
