"""What every result handler does: end the job once by taskId, then announce it.

A handler reads the result's documents from S3, checks each against its model
(``graphnode.contract.graph_model``), and commits them with the job's final state and its event in
one store transaction (``Store.commit``). A document that does not follow its model (a GPU worker
of another version) is not stored: the handler fails, and on the last receive the job ends
FAILED, revivable by a DLQ redrive once the versions agree. What follows the commit is
idempotent and runs on every delivery, so a crash right after the commit is finished by
the redelivered message: superseded graph copies are marked for expiry, and the outbox is
published (``workers.outbox``), deduplicated in Redis, so an event goes out once.
"""

from __future__ import annotations

import logging
from typing import Any

from graphnode.contract.graph_model import DOCUMENT_MODELS, check_document
from graphnode.contract.lifecycle import may_end, workspace_event
from graphnode.contract.messages import (
    Envelope,
    FailureKind,
    JobStatus,
    Result,
    TaskType,
    parse_envelope,
)
from graphnode.contract.payloads import foreign_keys, graph_key
from graphnode.runtime import metrics
from graphnode.runtime.middleware import EnvelopeTask, result_type_for
from graphnode.stores import Job, Outcome, ResultKind
from workers.context import ResultContext, result_context
from workers.outbox import publish_pending

logger = logging.getLogger(__name__)

#: The outputs of a graph job that later jobs read: add-node needs both, summary the graph.
KEPT_GRAPH_OUTPUTS = ("graph", "features")
#: Jobs whose graph, once committed, becomes the user's current graph.
GRAPH_JOBS = frozenset({TaskType.GRAPH_GENERATION_REQUEST, TaskType.ADD_NODE_REQUEST})


def owned_job(envelope: Envelope, message: Any) -> Job | None:
    """The job a message is about, if the message can apply to it: the job exists, is the
    user's the message names, and a result is one of the job's type with its outputs where
    the GPU worker writes that job's. The job record is trusted, not the message: any other
    message is logged, counted and dropped, since no retry or redrive can make it apply."""
    job = result_context().store.get_job(envelope.taskId)
    if job is None:
        return refused(envelope, "unknown_job", f"for unknown job {envelope.taskId}")
    if job.userId != message.userId:
        return refused(envelope, "not_owner", f"of {message.userId} for job {job.taskId}, "
                                              f"which is another user's")
    if isinstance(message, Result):
        if result_type_for(job.taskType) != envelope.taskType:
            return refused(envelope, "wrong_type", f"for job {job.taskId}, a {job.taskType}")
        foreign = foreign_keys(job.userId, message.claim_checks(), job.taskId)
        if foreign:
            return refused(envelope, "foreign_key", f"for job {job.taskId} names outputs "
                                                    f"not written for it: {', '.join(foreign)}")
    return job


def refused(envelope: Envelope, reason: str, why: str) -> None:
    metrics.MESSAGES_REFUSED.labels(envelope.taskType.value, reason).inc()
    logger.error("%s %s dropped (%s)", envelope.taskType, why[:500], reason)
    return None


class ResultHandler(EnvelopeTask):
    """Base of the result handlers: short tasks (fetch from S3, commit, publish)."""

    abstract = True
    soft_time_limit = 120
    time_limit = 180

    def give_up(self, envelope: Any, error: str) -> None:
        """A result that could not be persisted in five tries ends its job FAILED, marked
        revivable: the message waits in the DLQ, and re-driven once the cause is fixed, it
        completes the job after all."""
        parsed, result = parse_envelope(envelope)
        if owned_job(parsed, result) is None:
            return
        committed = result_context().store.commit(Outcome(
            taskId=parsed.taskId, status=JobStatus.FAILED,
            failure=FailureKind.RESULT_NOT_STORED,
            error=f"the result could not be stored: {error}"[:4000],
        ))
        if committed is not None:
            after_commit(committed.job)


def end_job(envelope: Envelope, result: Any, outputs: dict[ResultKind, str],
            scope: str = "", base_graph: str | None = None) -> Job | None:
    """Commit a result: the documents named by ``outputs`` (kind to output name) and the
    job's final state. The job as it now is, or None if the message can never apply."""
    job = owned_job(envelope, result)
    if job is None:
        return None
    ctx = result_context()
    output_keys = result.outputKeys
    documents: dict[ResultKind, Any] = {}
    completes = result.status == JobStatus.COMPLETED
    if completes and may_end(job.status, job.failure, JobStatus.COMPLETED):
        if job.taskType in GRAPH_JOBS:
            output_keys = keep_graph_outputs(result.userId, envelope.taskId, output_keys)
        documents = {kind: ctx.payloads.get_json(output_keys[name])
                     for kind, name in outputs.items()}
        for kind, document in documents.items():
            check_document(DOCUMENT_MODELS[kind.value], document, f"{kind.value} of {job.taskId}")
    committed = ctx.store.commit(Outcome(
        taskId=envelope.taskId, status=result.status, outputKeys=output_keys,
        stats=result.stats, error=result.error, failure=result.failure, results=documents,
        scope=scope, becomesCurrentGraph=completes and job.taskType in GRAPH_JOBS,
        baseGraphTaskId=base_graph,
    ))
    if committed is None:
        raise RuntimeError(f"job {envelope.taskId} disappeared from the store while its "
                           "result was committed")
    after_commit(committed.job)
    return committed.job


def keep_graph_outputs(user_id: str, task_id: str, output_keys: dict[str, str]) -> dict[str, str]:
    """Copy a new graph out of the expiring claim checks into ``graphs/``, where the current
    graph is kept; the job's output keys, pointing at the copies. Idempotent."""
    ctx = result_context()
    kept = kept_graph_keys(user_id, task_id)
    for name, key in kept.items():
        ctx.payloads.copy(output_keys[name], key)
    return {**output_keys, **kept}


def kept_graph_keys(user_id: str, task_id: str) -> dict[str, str]:
    """Where a graph job's kept outputs are, by output name."""
    return {name: graph_key(user_id, task_id, f"{name}.json") for name in KEPT_GRAPH_OUTPUTS}


def after_commit(job: Job, ctx: ResultContext | None = None) -> None:
    """What follows a commit, on every delivery: graph copies that no current graph uses
    expire after a grace period (requests already sent against them still find them),
    a finished workspace is announced, and the outbox is published. ``ctx``: the
    main process's own context (a thread there must not build the children's)."""
    ctx = ctx or result_context()
    if job.taskType in GRAPH_JOBS and job.status.is_final:
        unused = [job.supersedes] if job.supersedes else []
        if ctx.store.current_graph(job.userId) != job.taskId:  # failed, or overtaken
            unused.append(job.taskId)
        ctx.payloads.mark_superseded([key for task_id in unused
                                      for key in kept_graph_keys(job.userId, task_id).values()])
    if job.taskType == TaskType.MICROSCOPE_INGEST_REQUEST and job.scope:
        event = workspace_event(job.userId, job.scope,
                                ctx.store.jobs_in_scope(job.userId, job.scope))
        if event is not None:
            ctx.store.add_event(event)
    publish_pending(ctx)
