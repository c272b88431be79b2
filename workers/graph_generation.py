"""Handlers of GRAPH_GENERATION_RESULT and of the progress of every job type."""

from __future__ import annotations

import logging

from celery import shared_task

from graphnode.contract.messages import Envelope, GraphGenerationResult, Progress, TaskType
from graphnode.runtime.middleware import EnvelopeTask
from graphnode.stores import ResultKind
from workers.context import result_context
from workers.results import ResultHandler, end_job, owned_job

logger = logging.getLogger(__name__)


@shared_task(name=TaskType.GRAPH_GENERATION_PROGRESS.value, base=EnvelopeTask, bind=True)
def on_progress(self: EnvelopeTask, envelope: Envelope, progress: Progress) -> None:
    if owned_job(envelope, progress) is None:
        return
    ctx = result_context()
    # Only a step forward (or a new attempt) is published, so a redelivery stays silent.
    if not ctx.store.record_progress(envelope.taskId, progress.stage, progress.progress,
                                     progress.attempt):
        return
    try:
        ctx.events.publish(progress.userId, "progress", {
            "taskId": envelope.taskId,
            "stage": progress.stage,
            "progress": progress.progress,
            "attempt": progress.attempt,
            "message": progress.message,
        })
    except Exception as exc:  # progress is best effort; the job state is stored
        logger.warning("progress event of %s not published: %s", envelope.taskId, exc)


@shared_task(name=TaskType.GRAPH_GENERATION_RESULT.value, base=ResultHandler, bind=True)
def on_result(self: ResultHandler, envelope: Envelope, result: GraphGenerationResult) -> None:
    end_job(envelope, result, {ResultKind.GRAPH: "graph"})
