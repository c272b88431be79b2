"""The store port: jobs and their results, behind a small interface, one adapter per database.

Every write that a result handler makes is conditional, so that a redelivered message
changes nothing: a final job state is never overwritten, progress never goes backwards,
and a result is inserted once per taskId and kind.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from graphnode.contract import JobStatus, TaskType


def utcnow() -> datetime:
    return datetime.now(UTC)


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
    notified: bool = False
    createdAt: datetime = Field(default_factory=utcnow)
    updatedAt: datetime = Field(default_factory=utcnow)


class ResultKind(StrEnum):
    """What a stored result document is; ``GRAPH`` is the user's knowledge graph."""

    GRAPH = "graph"
    SUMMARY = "summary"
    ADDED_NODES = "added-nodes"
    DOCUMENT_GRAPH = "document-graph"
    WORKSPACE_NOTICE = "workspace-notice"  # a workspace.completed event that went out


class StoredResult(BaseModel):
    taskId: str
    userId: str
    kind: ResultKind
    scope: str = ""
    document: Any
    createdAt: datetime


def final_changes(
    status: JobStatus,
    output_keys: dict[str, str] | None,
    stats: dict[str, Any] | None,
    error: str | None,
) -> dict[str, Any]:
    """The fields a final state sets, the same for every adapter."""
    if not status.is_final:
        raise ValueError(f"{status} is not a final status")
    changes: dict[str, Any] = {
        "status": status, "outputKeys": output_keys or {}, "stats": stats or {}, "error": error,
    }
    if status == JobStatus.COMPLETED:
        changes.update(progress=1.0, stage="done")
    return changes


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
    def record_progress(self, task_id: str, stage: str, progress: float) -> bool:
        """Move a running job forward; False if it is final or already further along."""

    @abstractmethod
    def finish_job(
        self,
        task_id: str,
        status: JobStatus,
        *,
        output_keys: dict[str, str] | None = None,
        stats: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> bool:
        """Set the final state once; False (and no change) if the job already ended."""

    @abstractmethod
    def mark_notified(self, task_id: str) -> None:
        """Remember that the final SSE event went out, so a redelivery does not repeat it."""

    @abstractmethod
    def jobs_in_scope(self, user_id: str, scope: str) -> list[Job]:
        """A user's jobs of one scope (a workspace's documents), oldest first."""

    @abstractmethod
    def save_result(self, user_id: str, task_id: str, kind: ResultKind, document: Any,
                    scope: str = "") -> bool:
        """Insert a result of a job once per kind; False (and no change) if already stored."""

    @abstractmethod
    def get_result(self, task_id: str, kind: ResultKind) -> StoredResult | None: ...

    @abstractmethod
    def latest_result(self, user_id: str, kind: ResultKind, scope: str = "") -> StoredResult | None:
        """The newest result of a kind, e.g. the user's current graph."""

    @abstractmethod
    def results_in_scope(self, user_id: str, kind: ResultKind, scope: str) -> list[StoredResult]:
        """All results of a kind and scope, oldest first (a workspace's document graphs)."""

    def close(self) -> None:  # noqa: B027 - optional hook, not every adapter holds connections
        """Release connections; the default has none to release."""
