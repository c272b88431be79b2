"""MICROSCOPE_INGEST_REQUEST: one workspace document to chunks, entities and relations."""

from __future__ import annotations

from celery import shared_task

from graphnode.contract.messages import (
    Envelope,
    JobStatus,
    MicroscopeIngestRequest,
    MicroscopeIngestResult,
    TaskType,
)
from graphnode.runtime.middleware import EnvelopeTask
from tasks.context import (
    bad_input_fails_the_job,
    gpu_settings,
    payload_store,
    put_outputs,
    text_generator,
)


@shared_task(name=TaskType.MICROSCOPE_INGEST_REQUEST.value, base=EnvelopeTask, bind=True)
def ingest(self: EnvelopeTask, envelope: Envelope, request: MicroscopeIngestRequest) -> None:
    from tasks.pipeline.jobs import ingest_document as run

    with bad_input_fails_the_job():  # past a limit too: the InputError names it
        output = run(payload_store().get_bytes(request.inputKey, request.inputSha256),
                     file_name=request.fileName, document_id=request.documentId,
                     generator=text_generator(), settings=gpu_settings(), report=self.progress)
    keys = put_outputs(request.userId, envelope.taskId, output.documents)
    self.send(TaskType.MICROSCOPE_INGEST_RESULT, envelope.taskId, MicroscopeIngestResult(
        userId=request.userId, status=JobStatus.COMPLETED, outputKeys=keys,
        groupId=request.groupId, documentId=request.documentId, stats=output.stats,
    ))
