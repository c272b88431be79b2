"""SQLite adapter: the embedded default store, a real database file shared by processes."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from graphnode.contract import JobStatus
from graphnode.stores.base import (
    Job,
    JobExistsError,
    Store,
    StoredGraph,
    final_changes,
    utcnow,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    task_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    document TEXT NOT NULL,
    status TEXT NOT NULL,
    progress REAL NOT NULL,
    notified INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS graphs (
    task_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    graph TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS graphs_by_user ON graphs (user_id, created_at);
"""


class SQLiteStore(Store):
    """One short-lived connection per operation: safe across threads, greenlets and processes."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        # WAL: the API reads while the result worker writes, from another process.
        setup = sqlite3.connect(self.path, timeout=30)
        try:
            setup.execute("PRAGMA journal_mode=WAL")
            setup.executescript(SCHEMA)
        finally:
            setup.close()

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")
            yield db
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        finally:
            db.close()

    def create_job(self, job: Job) -> None:
        try:
            with self._connect() as db:
                db.execute(
                    "INSERT INTO jobs (task_id, user_id, document, status, progress, notified)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (job.taskId, job.userId, job.model_dump_json(), job.status.value,
                     job.progress, int(job.notified)),
                )
        except sqlite3.IntegrityError:
            raise JobExistsError(job.taskId) from None

    def get_job(self, task_id: str) -> Job | None:
        with self._connect() as db:
            return self._read_job(db, task_id)

    @staticmethod
    def _read_job(db: sqlite3.Connection, task_id: str) -> Job | None:
        row = db.execute("SELECT document FROM jobs WHERE task_id = ?", (task_id,)).fetchone()
        return Job.model_validate_json(row[0]) if row else None

    def _update(self, task_id: str, allowed: Any, **changes: Any) -> bool:
        """Apply ``changes`` inside one transaction if ``allowed(job)`` says so."""
        with self._connect() as db:
            job = self._read_job(db, task_id)
            if job is None or not allowed(job):
                return False
            updated = job.model_copy(update={**changes, "updatedAt": utcnow()})
            db.execute(
                "UPDATE jobs SET document = ?, status = ?, progress = ?, notified = ?"
                " WHERE task_id = ?",
                (updated.model_dump_json(), updated.status.value, updated.progress,
                 int(updated.notified), task_id),
            )
            return True

    def record_progress(self, task_id: str, stage: str, progress: float) -> bool:
        return self._update(
            task_id,
            lambda job: not job.status.is_final and progress > job.progress,
            status=JobStatus.RUNNING, stage=stage, progress=progress,
        )

    def finish_job(
        self,
        task_id: str,
        status: JobStatus,
        *,
        output_keys: dict[str, str] | None = None,
        stats: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> bool:
        return self._update(
            task_id,
            lambda job: not job.status.is_final,
            **final_changes(status, output_keys, stats, error),
        )

    def mark_notified(self, task_id: str) -> None:
        self._update(task_id, lambda job: not job.notified, notified=True)

    def save_graph(self, user_id: str, task_id: str, graph: dict[str, Any]) -> bool:
        with self._connect() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO graphs (task_id, user_id, graph, created_at)"
                " VALUES (?, ?, ?, ?)",
                (task_id, user_id, json.dumps(graph), utcnow().isoformat()),
            )
            return cursor.rowcount == 1

    def latest_graph(self, user_id: str) -> StoredGraph | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT task_id, graph, created_at FROM graphs WHERE user_id = ?"
                " ORDER BY created_at DESC, rowid DESC LIMIT 1",
                (user_id,),
            ).fetchone()
        if row is None:
            return None
        return StoredGraph(taskId=row[0], userId=user_id, graph=json.loads(row[1]),
                           createdAt=datetime.fromisoformat(row[2]))
