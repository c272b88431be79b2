"""Handler of MICROSCOPE_INGEST_RESULT: one document's entity graph, per workspace."""

from __future__ import annotations

from graphnode.celery_app import celery_app
from graphnode.contract import Envelope, MicroscopeIngestResult, TaskType
from graphnode.middleware import EnvelopeTask
from graphnode.stores import ResultKind
from workers.context import result_context
from workers.results import notify_final, persist_result


@celery_app.task(name=TaskType.MICROSCOPE_INGEST_RESULT.value, base=EnvelopeTask, bind=True)
def on_document(self: EnvelopeTask, envelope: Envelope, result: MicroscopeIngestResult) -> None:
    persisted = persist_result(envelope, result, ResultKind.DOCUMENT_GRAPH, "graph",
                               scope=result.groupId)
    if not persisted:
        return
    job, changed = persisted
    workspace_url = f"/v1/workspaces/{result.groupId}"
    notify_final(job, groupId=result.groupId, documentId=result.documentId,
                 workspaceUrl=workspace_url)
    ctx = result_context()
    documents = ctx.store.jobs_in_scope(result.userId, result.groupId)
    if changed and all(document.status.is_final for document in documents):
        ctx.events.publish(result.userId, "workspace.completed", {
            "groupId": result.groupId,
            "documents": len(documents),
            "failed": sum(document.status == "FAILED" for document in documents),
            "workspaceUrl": workspace_url,
        })
