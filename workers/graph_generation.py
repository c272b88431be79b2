"""Handlers of GRAPH_GENERATION_PROGRESS and GRAPH_GENERATION_RESULT."""

from __future__ import annotations

from graphnode.celery_app import celery_app
from graphnode.contract import Envelope, GraphGenerationResult, Progress, TaskType
from graphnode.middleware import EnvelopeTask
from graphnode.stores import ResultKind
from workers.context import result_context
from workers.results import ResultHandler, notify_final, owned_job, persist_result


@celery_app.task(name=TaskType.GRAPH_GENERATION_PROGRESS.value, base=EnvelopeTask, bind=True)
def on_progress(self: EnvelopeTask, envelope: Envelope, progress: Progress) -> None:
    if owned_job(envelope, progress.userId) is None:
        return
    ctx = result_context()
    # Only a step forward is published, so a redelivered progress message stays silent.
    if ctx.store.record_progress(envelope.taskId, progress.stage, progress.progress):
        ctx.events.publish(progress.userId, "progress", {
            "taskId": envelope.taskId,
            "stage": progress.stage,
            "progress": progress.progress,
            "message": progress.message,
        })


@celery_app.task(name=TaskType.GRAPH_GENERATION_RESULT.value, base=ResultHandler, bind=True)
def on_result(self: ResultHandler, envelope: Envelope, result: GraphGenerationResult) -> None:
    persisted = persist_result(envelope, result, {ResultKind.GRAPH: "graph"})
    if persisted:
        notify_final(persisted[0], graphUrl="/v1/graphs/me")
