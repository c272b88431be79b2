"""Handler of MICROSCOPE_INGEST_RESULT: one document's entity graph, per workspace."""

from __future__ import annotations

from graphnode.celery_app import celery_app
from graphnode.contract import Envelope, JobStatus, MicroscopeIngestResult, TaskType
from graphnode.stores import Job, ResultKind
from workers.context import result_context
from workers.results import ResultHandler, notify_final, persist_result


@celery_app.task(name=TaskType.MICROSCOPE_INGEST_RESULT.value, base=ResultHandler, bind=True)
def on_document(self: ResultHandler, envelope: Envelope, result: MicroscopeIngestResult) -> None:
    persisted = persist_result(envelope, result, {ResultKind.DOCUMENT_GRAPH: "graph"},
                               scope=result.groupId)
    if not persisted:
        return
    workspace_url = f"/v1/workspaces/{result.groupId}"
    notify_final(persisted[0], groupId=result.groupId, documentId=result.documentId,
                 workspaceUrl=workspace_url)
    notify_workspace_complete(result.userId, result.groupId, workspace_url)


def notify_workspace_complete(user_id: str, group_id: str, workspace_url: str) -> None:
    """Once every document of the workspace has ended, say so, once per set of documents.

    The notice is recorded in the store after it is published, so a crash in between repeats
    it on redelivery rather than losing it.
    """
    ctx = result_context()
    documents: list[Job] = ctx.store.jobs_in_scope(user_id, group_id)
    if not documents or not all(document.status.is_final for document in documents):
        return
    notice_id = f"{group_id}-{len(documents)}"
    if ctx.store.get_result(notice_id, ResultKind.WORKSPACE_NOTICE) is not None:
        return
    notice = {
        "groupId": group_id,
        "documents": len(documents),
        "failed": sum(document.status == JobStatus.FAILED for document in documents),
        "workspaceUrl": workspace_url,
    }
    ctx.events.publish(user_id, "workspace.completed", notice)
    ctx.store.save_result(user_id, notice_id, ResultKind.WORKSPACE_NOTICE, notice, group_id)
