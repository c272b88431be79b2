"""Handler of MICROSCOPE_INGEST_RESULT: one document's entity graph, per workspace; the
workspace is announced once all its documents have ended (``workers.results.after_commit``)."""

from __future__ import annotations

from celery import shared_task

from graphnode.contract.messages import Envelope, MicroscopeIngestResult, TaskType
from graphnode.stores import ResultKind
from workers.results import ResultHandler, end_job


@shared_task(name=TaskType.MICROSCOPE_INGEST_RESULT.value, base=ResultHandler, bind=True)
def on_document(self: ResultHandler, envelope: Envelope, result: MicroscopeIngestResult) -> None:
    end_job(envelope, result, {ResultKind.DOCUMENT_GRAPH: "graph"}, scope=result.groupId)
