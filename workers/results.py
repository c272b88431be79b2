"""What every result handler does: persist once by taskId, then notify once.

A redelivered message finds the job final and changes nothing; the final SSE event is
sent until the store records that it went out (a crash between the two repeats the event,
never loses it).
"""

from __future__ import annotations

import logging
from typing import Any

from graphnode.contract import Envelope, JobStatus, parse_envelope
from graphnode.middleware import EnvelopeTask
from graphnode.stores import Job, ResultKind
from workers.context import result_context

logger = logging.getLogger(__name__)


class ResultHandler(EnvelopeTask):
    """Base of the result handlers."""

    abstract = True

    def give_up(self, envelope: Any, error: str) -> None:
        """A result that could not be persisted in five tries ends its job FAILED here (the
        message itself waits in the DLQ, to be re-driven once the cause is fixed)."""
        parsed, result = parse_envelope(envelope)
        ctx = result_context()
        job = ctx.store.get_job(parsed.taskId)
        if job is None or job.userId != result.userId:
            return
        if ctx.store.finish_job(parsed.taskId, JobStatus.FAILED,
                                error=f"the result could not be stored: {error}"):
            notify_final(ctx.store.get_job(parsed.taskId))  # type: ignore[arg-type]


def persist_result(envelope: Envelope, result: Any, outputs: dict[ResultKind, str],
                   scope: str = "") -> tuple[Job, bool] | None:
    """Store the result documents, then the job's final state; (job, whether this delivery
    ended it). ``outputs`` maps each kind to store to the result's output name."""
    ctx = result_context()
    job = ctx.store.get_job(envelope.taskId)
    if job is None or job.userId != result.userId:
        logger.error("%s for unknown job %s of %s dropped", envelope.taskType, envelope.taskId,
                     result.userId)
        return None
    if result.status == JobStatus.COMPLETED and not job.status.is_final:
        for kind, output in outputs.items():
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
