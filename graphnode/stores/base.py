"""The store port: jobs and their results, behind a small interface, one adapter per database.

Every write that a result handler makes is conditional, so that a redelivered message
changes nothing: a job ends once (``graphnode.contract.lifecycle.may_end``), progress never goes
backwards, and a result is inserted once per taskId and kind. How a job ends is one
transaction (``Store.commit``): its results, the user's current graph, its final state and
the event that announces it (the outbox) are written together or not at all.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from graphnode.contract.lifecycle import OutboxEvent, final_event, may_end
from graphnode.contract.messages import FailureKind, JobStatus, TaskType

_last_now = datetime.min.replace(tzinfo=UTC)
_last_now_lock = threading.Lock()


def utcnow() -> datetime:
    """Now, to the millisecond (the precision MongoDB keeps, so every adapter stores and
    compares the same instants), and later than any earlier call in this process: which
    of two jobs came first decides which graph stays current, so one process never gives
    two jobs the same instant. Two processes can, for jobs that were in fact concurrent."""
    global _last_now
    now = datetime.now(UTC)
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    with _last_now_lock:
        _last_now = max(now, _last_now + timedelta(milliseconds=1))
        return _last_now


def as_utc(moment: datetime) -> datetime:
    """A stored time, naive ones read as UTC (some MongoDB servers return them naive)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Job(BaseModel):
    taskId: str
    userId: str
    taskType: TaskType
    status: JobStatus = JobStatus.PENDING
    stage: str | None = None
    progress: float = 0.0
    scope: str | None = None  # groups jobs, e.g. the workspace (groupId) of a document
    fileName: str | None = None
    inputKey: str | None = None
    outputKeys: dict[str, str] = Field(default_factory=dict)
    stats: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    failure: FailureKind | None = None
    attempts: int = 0  # receives of the request that reported progress
    supersedes: str | None = None  # the graph job this one replaced as the current graph
    createdAt: datetime = Field(default_factory=utcnow)
    updatedAt: datetime = Field(default_factory=utcnow)


class ResultKind(StrEnum):
    """What a stored result document is; ``GRAPH`` is the user's knowledge graph."""

    GRAPH = "graph"
    SUMMARY = "summary"
    ADDED_NODES = "added-nodes"
    DOCUMENT_GRAPH = "document-graph"


class StoredResult(BaseModel):
    taskId: str
    userId: str
    kind: ResultKind
    scope: str = ""
    document: Any
    createdAt: datetime


class Outcome(BaseModel):
    """How a job ends: what ``Store.commit`` writes in one transaction."""

    taskId: str
    status: JobStatus
    outputKeys: dict[str, str] = Field(default_factory=dict)
    stats: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    failure: FailureKind | None = None
    results: dict[ResultKind, Any] = Field(default_factory=dict)  # stored if COMPLETED
    scope: str = ""
    #: The job's graph becomes the user's current graph ...
    becomesCurrentGraph: bool = False
    #: ... but only if the current graph is still this one (add-node's optimistic check).
    baseGraphTaskId: str | None = None


class Committed(BaseModel):
    job: Job
    changed: bool  # False: the job had already ended (a redelivery), nothing was written


def resolve(job: Job, outcome: Outcome, current: Job | None) -> Outcome | None:
    """The outcome to write, given the job and the job of the user's current graph, both
    read in the same transaction; None if the job may not end (again)."""
    if not may_end(job.status, job.failure, outcome.status):
        return None
    if outcome.status != JobStatus.COMPLETED or not outcome.becomesCurrentGraph:
        return outcome
    current_id = current.taskId if current else None
    if outcome.baseGraphTaskId is not None and current_id != outcome.baseGraphTaskId:
        return Outcome(
            taskId=outcome.taskId, status=JobStatus.FAILED, failure=FailureKind.GRAPH_CHANGED,
            error=f"the graph changed while nodes were added (now {current_id}, was "
                  f"{outcome.baseGraphTaskId}); add them again",
        )
    if current is not None and as_utc(current.createdAt) >= as_utc(job.createdAt):
        # A late result (a redrive) of a job not newer than the current graph completes
        # its job but does not take the place of that graph. Jobs created in the same
        # millisecond (by two processes, see utcnow): the first to complete stays current.
        return outcome.model_copy(update={"becomesCurrentGraph": False})
    return outcome


def ended(job: Job, outcome: Outcome, current: Job | None) -> tuple[Job, OutboxEvent]:
    """The job as ``outcome`` leaves it, and the event that announces it."""
    changes: dict[str, Any] = {
        "status": outcome.status, "outputKeys": outcome.outputKeys, "stats": outcome.stats,
        "error": outcome.error, "failure": outcome.failure, "updatedAt": utcnow(),
    }
    if outcome.status == JobStatus.COMPLETED:
        changes.update(progress=1.0, stage="done", error=None, failure=None)
        if outcome.becomesCurrentGraph and current is not None and current.taskId != job.taskId:
            changes["supersedes"] = current.taskId
    final = job.model_copy(update=changes)
    return final, final_event(final)


@dataclass(frozen=True)
class JobCounts:
    """``by_type[taskType][status]`` = number of jobs; the oldest PENDING job's ``createdAt``
    (a request no worker has started yet), or None when nothing waits."""

    by_type: dict[str, dict[str, int]]
    oldest_pending_at: datetime | None


class JobExistsError(RuntimeError):
    """A job with this taskId was already accepted."""


class Store(ABC):
    """Jobs and graphs of all users; every read is scoped by the caller to one user."""

    @abstractmethod
    def create_job(self, job: Job) -> None:
        """Record an accepted job; raises JobExistsError for a taskId already taken."""

    @abstractmethod
    def get_job(self, task_id: str) -> Job | None: ...

    @abstractmethod
    def record_progress(self, task_id: str, stage: str, progress: float, attempt: int = 1) -> bool:
        """Move a running job forward; a later attempt restarts its progress. False if the
        job is final, the report is of an older attempt, or not further along."""

    @abstractmethod
    def commit(self, outcome: Outcome) -> Committed | None:
        """End a job in one transaction (results, current graph, final state, its event in
        the outbox), if ``lifecycle.may_end`` allows; None for an unknown job."""

    @abstractmethod
    def jobs_in_scope(self, user_id: str, scope: str) -> list[Job]:
        """A user's jobs of one scope (a workspace's documents), oldest first."""

    @abstractmethod
    def current_graph(self, user_id: str) -> str | None:
        """The taskId of the user's current graph: always a COMPLETED job with its outputs."""

    @abstractmethod
    def add_event(self, event: OutboxEvent) -> bool:
        """Put an event in the outbox once by ``eventId``; False if it was already there."""

    @abstractmethod
    def pending_events(self, limit: int = 100) -> list[OutboxEvent]:
        """Events committed but not yet published, oldest first."""

    @abstractmethod
    def mark_event_sent(self, event_id: str) -> None: ...

    @abstractmethod
    def get_result(self, task_id: str, kind: ResultKind) -> StoredResult | None: ...

    @abstractmethod
    def latest_result(self, user_id: str, kind: ResultKind, scope: str = "") -> StoredResult | None:
        """The newest result of a kind (the latest summary)."""

    @abstractmethod
    def results_in_scope(self, user_id: str, kind: ResultKind, scope: str) -> list[StoredResult]:
        """All results of a kind and scope, oldest first (a workspace's document graphs)."""

    @abstractmethod
    def unfinished_jobs(self) -> list[Job]:
        """Every job not yet ended (PENDING or RUNNING): few beside the ended ones, read by
        the job deadline (``workers.deadline``)."""

    @abstractmethod
    def job_counts(self) -> JobCounts:
        """Jobs by type and state, and when the oldest PENDING one was accepted: what
        ``graphnode status`` shows an operator."""

    def close(self) -> None:  # noqa: B027 - optional hook, not every adapter holds connections
        """Release connections; the default has none to release."""
