"""Handlers of GRAPH_GENERATION_PROGRESS and GRAPH_GENERATION_RESULT.

Idempotent by taskId: the store's conditional writes make a redelivered message change
nothing, and the final SSE event is sent until the store records that it went out.
"""

from __future__ import annotations

import logging

from graphnode.celery_app import celery_app
from graphnode.contract import Envelope, GraphGenerationResult, JobStatus, Progress, TaskType
from graphnode.middleware import EnvelopeTask
from workers.context import result_context

logger = logging.getLogger(__name__)


@celery_app.task(name=TaskType.GRAPH_GENERATION_PROGRESS.value, base=EnvelopeTask, bind=True)
def on_progress(self: EnvelopeTask, envelope: Envelope, progress: Progress) -> None:
    ctx = result_context()
    job = ctx.store.get_job(envelope.taskId)
    if job is None or job.userId != progress.userId:
        logger.error("progress for unknown job %s of %s dropped", envelope.taskId, progress.userId)
        return
    if ctx.store.record_progress(envelope.taskId, progress.stage, progress.progress):
        ctx.events.publish(progress.userId, "progress", {
            "taskId": envelope.taskId,
            "stage": progress.stage,
            "progress": progress.progress,
            "message": progress.message,
        })


@celery_app.task(name=TaskType.GRAPH_GENERATION_RESULT.value, base=EnvelopeTask, bind=True)
def on_result(self: EnvelopeTask, envelope: Envelope, result: GraphGenerationResult) -> None:
    ctx = result_context()
    job = ctx.store.get_job(envelope.taskId)
    if job is None or job.userId != result.userId:
        logger.error("result for unknown job %s of %s dropped", envelope.taskId, result.userId)
        return
    if result.status == JobStatus.COMPLETED and not job.status.is_final:
        graph = ctx.payloads.get_json(result.outputKeys["graph"])
        ctx.store.save_graph(result.userId, envelope.taskId, graph)
    ctx.store.finish_job(envelope.taskId, result.status, output_keys=result.outputKeys,
                         stats=result.stats, error=result.error)
    final = ctx.store.get_job(envelope.taskId)
    if final is not None and not final.notified:
        event = "completed" if final.status == JobStatus.COMPLETED else "failed"
        ctx.events.publish(result.userId, event, {
            "taskId": envelope.taskId,
            "status": final.status.value,
            "stats": final.stats,
            "error": final.error,
            "graphUrl": "/v1/graphs/me" if final.status == JobStatus.COMPLETED else None,
        })
        ctx.store.mark_notified(envelope.taskId)
