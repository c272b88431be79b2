"""The job lifecycle in one place: states, transitions, what each failure does, and what a
redrive can recover. Pure rules, no I/O: the store adapters apply them inside their
transactions and the Celery middleware (``graphnode.runtime.middleware``) applies them to messages.

A job is PENDING when the API accepts it, RUNNING from its first progress report, and ends
COMPLETED or FAILED when its result is committed by the result worker. A final state is
never overwritten, with one exception: a job that FAILED only because its result could not
be *stored* (``FailureKind.RESULT_NOT_STORED``) or was given up as ``LOST`` is completed by
a later successful delivery of that result, e.g. after ``graphnode dlq redrive graph-res``.

A job that nothing ended within the job deadline (``job_deadline_seconds``, by default
the request queue's retention, after which SQS holds no message for it) ends FAILED
(``LOST``): its request was lost with the queue service, or outlived the queue.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from graphnode.contract.messages import FailureKind, JobStatus, TaskType

#: A message a worker holds (received, running or waiting its turn) is kept invisible for
#: this many heartbeat intervals, from its receive on: short, so that a message whose
#: worker died comes back within seconds, whatever the queue's own visibility timeout.
BEATS_OF_VISIBILITY = 3


def visibility_window_seconds(heartbeat_seconds: float) -> int:
    """How long a held message stays invisible between two visibility heartbeats."""
    return max(1, math.ceil(BEATS_OF_VISIBILITY * heartbeat_seconds))


#: Failures that a redriven (or late) result message can still turn into COMPLETED.
REVIVABLE = frozenset({FailureKind.RESULT_NOT_STORED, FailureKind.LOST})

PENDING, RUNNING = JobStatus.PENDING, JobStatus.RUNNING
COMPLETED, FAILED = JobStatus.COMPLETED, JobStatus.FAILED

#: Every change a job's state may take: (from, to, what causes it). The store adapters
#: apply it through ``may_progress`` and ``may_end``; the README prints it; the stores'
#: contract test checks each adapter against it. Anything not listed never happens.
TRANSITIONS: tuple[tuple[JobStatus, JobStatus, str], ...] = (
    (PENDING, RUNNING, "the first progress report of a receive"),
    (RUNNING, RUNNING, "a progress report further along, or of a later receive (which "
                       "restarts the progress)"),
    (PENDING, COMPLETED, "the result worker commits a completed result"),
    (RUNNING, COMPLETED, "the result worker commits a completed result"),
    (PENDING, FAILED, "a failed result; the request could not be sent (not_enqueued); "
                      "nothing ended it by its deadline (lost)"),
    (RUNNING, FAILED, "a failed result, given up on the last receive (gave_up), or by the "
                      "deadline (lost)"),
    (FAILED, COMPLETED, "only a failure in REVIVABLE (result_not_stored, lost): the job's "
                        "result delivered again, or late, and stored"),
)


def may_progress(status: JobStatus, attempts: int, progress: float, attempt: int,
                 new_progress: float) -> bool:
    """Whether a progress report (of receive ``attempt``, at ``new_progress``) moves a job
    that is at ``progress`` of receive ``attempts``: never once it ended, never from an
    older receive, and within one receive only forward."""
    if status.is_final or attempt < attempts:
        return False
    return attempt > attempts or new_progress > progress


#: The (from, to) pairs of ``TRANSITIONS``.
ALLOWED = frozenset((before, after) for before, after, _ in TRANSITIONS)


def may_end(status: JobStatus, failure: FailureKind | None, new_status: JobStatus) -> bool:
    """Whether a job in ``status`` (and ``failure``) may take the final ``new_status``."""
    if not new_status.is_final:
        raise ValueError(f"{new_status} is not a final status")
    if (status, new_status) not in ALLOWED:
        return False
    return status != FAILED or failure in REVIVABLE


def retry_delay(receive_count: int, base_seconds: float, max_seconds: float) -> int:
    """Seconds a failed message stays invisible before its next receive: exponential backoff
    on the receive count, so a crashing job is retried soon and a struggling one less often.
    SQS takes whole seconds."""
    return max(1, min(math.ceil(base_seconds * 2 ** max(receive_count - 1, 0)),
                      math.ceil(max_seconds)))


def past_deadline(updated_at: datetime, now: datetime, deadline_seconds: float) -> bool:
    """Whether a job not ended and unchanged since ``updated_at`` is given up as LOST."""
    return (now - updated_at).total_seconds() > deadline_seconds


def lost_outcome_error(deadline_seconds: float) -> str:
    """What a job given up at its deadline says to its user."""
    return (f"no worker ended this job within {deadline_seconds:.0f} s of its last change: its "
            "request was lost (the queue service lost it, or it outlived the queue); submit "
            "it again")


class OutboxEvent(BaseModel):
    """An SSE event committed with the state change that causes it and published afterwards,
    at least once; ``eventId`` also deduplicates the publication (``EventPublisher``)."""

    eventId: str
    userId: str
    type: str
    data: dict[str, Any] = Field(default_factory=dict)
    #: The job this event ends (its final event): publishing it frees the job's in-flight
    #: slot. None for other events, and for events stored before the field existed.
    endsTaskId: str | None = None


def final_event(job: Any) -> OutboxEvent:
    """The ``completed`` or ``failed`` event of a job that just ended (a ``stores.Job``)."""
    event = "completed" if job.status == JobStatus.COMPLETED else "failed"
    data = {
        "taskId": job.taskId,
        "taskType": job.taskType.value,
        "status": job.status.value,
        "stats": job.stats,
        "error": job.error,
        **_links(job),
    }
    return OutboxEvent(eventId=f"{job.taskId}:{job.status.value}", userId=job.userId,
                       type=event, data=data, endsTaskId=job.taskId)


def workspace_event(user_id: str, group_id: str, jobs: list[Any]) -> OutboxEvent | None:
    """``workspace.completed`` once every document of a workspace has ended, once per set of
    documents (a later upload announces the workspace again)."""
    if not jobs or not all(job.status.is_final for job in jobs):
        return None
    return OutboxEvent(
        eventId=f"workspace:{group_id}:{len(jobs)}", userId=user_id, type="workspace.completed",
        data={"groupId": group_id, "documents": len(jobs),
              "failed": sum(job.status == JobStatus.FAILED for job in jobs),
              "workspaceUrl": f"/v1/workspaces/{group_id}"},
    )


def _links(job: Any) -> dict[str, str]:
    """Where the browser reads what the job produced."""
    if job.taskType == TaskType.GRAPH_GENERATION_REQUEST:
        return {"graphUrl": "/v1/graphs/me"}
    if job.taskType == TaskType.ADD_NODE_REQUEST:
        return {"graphUrl": "/v1/graphs/me", "resultUrl": f"/v1/jobs/{job.taskId}/result"}
    if job.taskType == TaskType.GRAPH_SUMMARY_REQUEST:
        return {"summaryUrl": "/v1/graphs/me/summary"}
    if job.taskType == TaskType.MICROSCOPE_INGEST_REQUEST:
        return {"groupId": job.scope or "", "documentId": job.taskId,
                "workspaceUrl": f"/v1/workspaces/{job.scope}"}
    return {}
