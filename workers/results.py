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
from graphnode.payloads import graph_key
from graphnode.stores import Job, ResultKind
from workers.context import result_context

logger = logging.getLogger(__name__)


def owned_job(envelope: Envelope, user_id: str) -> Job | None:
    """The job a message is about, if it exists and belongs to the user the message names;
    otherwise the message is logged and dropped (it can never apply)."""
    job = result_context().store.get_job(envelope.taskId)
    if job is None or job.userId != user_id:
        logger.error("%s for unknown job %s of %s dropped", envelope.taskType, envelope.taskId,
                     user_id)
        return None
    return job


class ResultHandler(EnvelopeTask):
    """Base of the result handlers."""

    abstract = True

    def give_up(self, envelope: Any, error: str) -> None:
        """A result that could not be persisted in five tries ends its job FAILED here (the
        message itself waits in the DLQ, to be re-driven once the cause is fixed)."""
        parsed, result = parse_envelope(envelope)
        if owned_job(parsed, result.userId) is None:
            return
        ctx = result_context()
        if ctx.store.finish_job(parsed.taskId, JobStatus.FAILED,
                                error=f"the result could not be stored: {error}"):
            notify_final(ctx.store.get_job(parsed.taskId))  # type: ignore[arg-type]


def persist_result(envelope: Envelope, result: Any, outputs: dict[ResultKind, str],
                   scope: str = "") -> tuple[Job, bool] | None:
    """Store the result documents, then the job's final state; (job, whether this delivery
    ended it). ``outputs`` maps each kind to store to the result's output name."""
    job = owned_job(envelope, result.userId)
    if job is None:
        return None
    ctx = result_context()
    output_keys = result.outputKeys
    if result.status == JobStatus.COMPLETED and not job.status.is_final:
        if ResultKind.GRAPH in outputs:
            output_keys = keep_graph_outputs(result.userId, envelope.taskId, output_keys)
        for kind, output in outputs.items():
            document = ctx.payloads.get_json(output_keys[output])
            ctx.store.save_result(result.userId, envelope.taskId, kind, document, scope)
    changed = ctx.store.finish_job(envelope.taskId, result.status, output_keys=output_keys,
                                   stats=result.stats, error=result.error)
    final = ctx.store.get_job(envelope.taskId)
    assert final is not None
    return final, changed


#: The outputs of a graph job that later jobs read: add-node needs both, summary the graph.
KEPT_GRAPH_OUTPUTS = ("graph", "features")


def keep_graph_outputs(user_id: str, task_id: str, output_keys: dict[str, str]) -> dict[str, str]:
    """Copy a new current graph out of the expiring claim checks (``graphs/``, kept) and drop
    the copies of the graph it replaces; the job's output keys, now pointing at the copies.

    Copying is idempotent, so a redelivery that finds the copies made changes nothing.
    """
    ctx = result_context()
    kept = dict(output_keys)
    for name in KEPT_GRAPH_OUTPUTS:
        kept[name] = graph_key(user_id, task_id, f"{name}.json")
        ctx.payloads.copy(output_keys[name], kept[name])
    previous = ctx.store.latest_result(user_id, ResultKind.GRAPH)
    previous_job = ctx.store.get_job(previous.taskId) if previous else None
    if previous_job is not None and previous_job.taskId != task_id:
        ctx.payloads.delete([previous_job.outputKeys[name] for name in KEPT_GRAPH_OUTPUTS
                             if previous_job.outputKeys.get(name, "").startswith("graphs/")])
    return kept


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
