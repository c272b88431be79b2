"""The job deadline: a job that nothing ended within ``job_deadline_seconds`` of its last
change ends FAILED (``lost``), so no accepted job stays PENDING or RUNNING for ever.

A job's request can vanish with the queue service (an emulator restarted empty, a queue
deleted and made again) or outlive the queue's retention; nothing would then end its job.
A thread in the result worker's main process looks every ``check_seconds`` for jobs past
their deadline and ends them as any result would (one commit with the job's ``failed``
event, which frees its in-flight slot). The default deadline is the request queue's
retention, past which SQS holds no message for the job; a result that still arrives
completes the job after all (``LOST`` is revivable, ``graphnode.contract.lifecycle``), so a shorter
deadline is safe too. Several result workers may race: the store's compare-and-set lets
one commit win.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import signals

from graphnode.contract.lifecycle import lost_outcome_error, past_deadline
from graphnode.contract.messages import FailureKind, JobStatus
from graphnode.contract.topology import load_topology
from graphnode.runtime import metrics
from graphnode.runtime.periodic import Periodic
from graphnode.settings import ResultWorkerSettings
from graphnode.stores import Outcome
from graphnode.stores.base import as_utc, utcnow
from workers.context import ResultContext, build_result_context, consumes_results
from workers.results import after_commit

logger = logging.getLogger(__name__)

#: The longest between two looks for jobs past their deadline.
MAX_CHECK_SECONDS = 60.0


def deadline_seconds(settings: ResultWorkerSettings) -> float:
    """The setting, or the request queue's retention as topology.yaml declares it."""
    if settings.job_deadline_seconds is not None:
        return settings.job_deadline_seconds
    return float(load_topology().queues["graph-req"].message_retention_seconds)


def end_lost_jobs(ctx: ResultContext, deadline: float) -> int:
    """End every job past its deadline FAILED (lost); how many this pass ended."""
    now = utcnow()
    ended = 0
    for job in ctx.store.unfinished_jobs():
        if not past_deadline(as_utc(job.updatedAt), now, deadline):
            continue
        committed = ctx.store.commit(Outcome(
            taskId=job.taskId, status=JobStatus.FAILED, failure=FailureKind.LOST,
            error=lost_outcome_error(deadline)))
        if committed is None or not committed.changed:
            continue  # ended meanwhile, by its result or another result worker
        ended += 1
        metrics.JOBS_LOST.labels(job.taskType.value).inc()
        logger.warning("job %s (%s, %s) ended FAILED (lost): unchanged for %.0f s",
                       job.taskId, job.taskType.value, job.status.value, deadline)
        after_commit(committed.job, ctx)
    return ended


def check_once(ctx: ResultContext, deadline: float) -> None:
    """One pass of the thread; a failing store is logged and tried again next pass."""
    try:
        end_lost_jobs(ctx, deadline)
    except Exception:
        logger.exception("job deadline pass failed")


@signals.worker_ready.connect(weak=False)
def _start_deadline(sender: Any = None, **_: Any) -> None:
    """Only the result worker ends jobs: it is the role that owns the store."""
    settings = ResultWorkerSettings()
    if consumes_results(sender, settings):
        deadline = deadline_seconds(settings)
        ctx = build_result_context()  # the main process's own (see workers.outbox)
        interval = min(MAX_CHECK_SECONDS, deadline / 4)
        Periodic("job-deadline", interval, lambda: check_once(ctx, deadline)).start()
        logger.info("job deadline: %.0f s, checked every %.1f s", deadline, interval)
