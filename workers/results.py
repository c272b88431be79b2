"""What every result handler does: persist once by taskId, then notify once.

A redelivered message finds the job final and changes nothing; the final SSE event is
sent until the store records that it went out (a crash between the two repeats the event,
never loses it).
"""

from __future__ import annotations

import logging
from typing import Any

from graphnode.contract import Envelope, JobStatus
from graphnode.stores import Job, ResultKind
from workers.context import result_context

logger = logging.getLogger(__name__)


def persist_result(envelope: Envelope, result: Any, kind: ResultKind, output: str,
                   scope: str = "") -> tuple[Job, bool] | None:
    """Store the result document and the job's final state; (job, whether this changed it)."""
    ctx = result_context()
    job = ctx.store.get_job(envelope.taskId)
    if job is None or job.userId != result.userId:
        logger.error("%s for unknown job %s of %s dropped", envelope.taskType, envelope.taskId,
                     result.userId)
        return None
    if result.status == JobStatus.COMPLETED and not job.status.is_final:
        document = ctx.payloads.get_json(result.outputKeys[output])
        ctx.store.save_result(result.userId, envelope.taskId, kind, document, scope)
    changed = ctx.store.finish_job(envelope.taskId, result.status, output_keys=result.outputKeys,
                                   stats=result.stats, error=result.error)
    final = ctx.store.get_job(envelope.taskId)
    assert final is not None
    return final, changed


def notify_final(job: Job, **extra: Any) -> None:
    """Publish the job's ``completed`` or ``failed`` event unless it already went out."""
    if job.notified:
        return
    ctx = result_context()
    event = "completed" if job.status == JobStatus.COMPLETED else "failed"
    ctx.events.publish(job.userId, event, {
        "taskId": job.taskId,
        "taskType": job.taskType.value,
        "status": job.status.value,
        "stats": job.stats,
        "error": job.error,
        **extra,
    })
    ctx.store.mark_notified(job.taskId)
