"""SQLite adapter: the embedded default store, a real database file shared by processes."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from graphnode.contract.lifecycle import OutboxEvent, may_progress
from graphnode.contract.messages import JobStatus
from graphnode.stores.base import (
    Committed,
    Job,
    JobCounts,
    JobExistsError,
    Outcome,
    ResultKind,
    Store,
    StoredResult,
    ended,
    resolve,
    utcnow,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    task_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    scope TEXT,
    document TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_by_scope ON jobs (user_id, scope);
CREATE INDEX IF NOT EXISTS jobs_unfinished ON jobs (json_extract(document, '$.status'))
    WHERE json_extract(document, '$.status') IN ('PENDING', 'RUNNING');
CREATE TABLE IF NOT EXISTS results (
    task_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    scope TEXT NOT NULL,
    document TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (task_id, kind)
);
CREATE INDEX IF NOT EXISTS results_by_user ON results (user_id, kind, scope, created_at);
CREATE TABLE IF NOT EXISTS current_graphs (
    user_id TEXT PRIMARY KEY,
    task_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    event_id TEXT PRIMARY KEY,
    document TEXT NOT NULL,
    created_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (created_at) WHERE sent_at IS NULL;
"""


class SQLiteStore(Store):
    """One connection per thread and process, one transaction per operation: safe across
    threads, greenlets (whose store calls run in the hub's thread pool) and processes.

    Kept open rather than opened per operation: opening costs about half a millisecond
    (the schema is read again), and closing the last connection of a WAL database
    checkpoints it, which then happened all the time under concurrent requests.
    """

    def __init__(self, path: str | Path, busy_timeout: float = 30.0) -> None:
        """``busy_timeout``: seconds a write waits for another writer before it raises
        ``sqlite3.OperationalError`` (database is locked)."""
        self.path = str(path)
        self.busy_timeout = busy_timeout
        self._held = threading.local()
        # WAL: the API reads while the result worker writes, from another process.
        setup = sqlite3.connect(self.path, timeout=busy_timeout)
        try:
            setup.execute("PRAGMA journal_mode=WAL")
            setup.executescript(SCHEMA)
        finally:
            setup.close()

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection in this process. A forked child opens its own and
        leaves those it inherited untouched: SQLite forbids using or closing them there."""
        by_process: dict[int, sqlite3.Connection] | None = getattr(self._held, "by_process",
                                                                   None)
        if by_process is None:
            by_process = self._held.by_process = {}
        db = by_process.get(os.getpid())
        if db is None:
            db = by_process[os.getpid()] = sqlite3.connect(
                self.path, timeout=self.busy_timeout, isolation_level=None)
        return db

    @contextmanager
    def _connect(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        """One transaction: IMMEDIATE for writes (read-check-write without a lost update),
        deferred for reads, which then never wait on a writer (WAL)."""
        db = self._connection()
        db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                try:
                    db.execute("ROLLBACK")
                except sqlite3.Error:  # a connection that cannot roll back is not reused
                    self._held.by_process.pop(os.getpid(), None)
                    db.close()
            raise

    def create_job(self, job: Job) -> None:
        try:
            with self._connect(write=True) as db:
                db.execute(
                    "INSERT INTO jobs (task_id, user_id, scope, document) VALUES (?, ?, ?, ?)",
                    (job.taskId, job.userId, job.scope, job.model_dump_json()),
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

    def record_progress(self, task_id: str, stage: str, progress: float, attempt: int = 1) -> bool:
        with self._connect(write=True) as db:
            job = self._read_job(db, task_id)
            if job is None or not may_progress(job.status, job.attempts, job.progress,
                                               attempt, progress):
                return False
            self._write_job(db, job.model_copy(update={
                "status": JobStatus.RUNNING, "stage": stage, "progress": progress,
                "attempts": attempt, "updatedAt": utcnow()}))
            return True

    @staticmethod
    def _write_job(db: sqlite3.Connection, job: Job) -> None:
        db.execute("UPDATE jobs SET document = ? WHERE task_id = ?",
                   (job.model_dump_json(), job.taskId))

    def commit(self, outcome: Outcome) -> Committed | None:
        with self._connect(write=True) as db:
            job = self._read_job(db, outcome.taskId)
            if job is None:
                return None
            current_id = self._current_graph(db, job.userId)
            current = self._read_job(db, current_id) if current_id else None
            effective = resolve(job, outcome, current)
            if effective is None:
                return Committed(job=job, changed=False)
            final, event = ended(job, effective, current)
            if final.status == JobStatus.COMPLETED:
                for kind, document in effective.results.items():
                    db.execute(
                        "INSERT OR IGNORE INTO results"
                        f" ({self._RESULT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                        (job.taskId, job.userId, kind.value, effective.scope,
                         json.dumps(document), utcnow().isoformat()),
                    )
                if effective.becomesCurrentGraph:
                    db.execute("INSERT OR REPLACE INTO current_graphs (user_id, task_id)"
                               " VALUES (?, ?)", (job.userId, job.taskId))
            self._write_job(db, final)
            self._insert_event(db, event)
            return Committed(job=final, changed=True)

    @staticmethod
    def _current_graph(db: sqlite3.Connection, user_id: str) -> str | None:
        row = db.execute("SELECT task_id FROM current_graphs WHERE user_id = ?",
                         (user_id,)).fetchone()
        if row is None:  # a graph stored before current graphs were recorded
            row = db.execute("SELECT task_id FROM results WHERE user_id = ? AND kind = ?"
                             " ORDER BY created_at DESC, rowid DESC LIMIT 1",
                             (user_id, ResultKind.GRAPH.value)).fetchone()
        return row[0] if row else None

    def current_graph(self, user_id: str) -> str | None:
        with self._connect() as db:
            return self._current_graph(db, user_id)

    @staticmethod
    def _insert_event(db: sqlite3.Connection, event: OutboxEvent) -> bool:
        cursor = db.execute(
            "INSERT OR IGNORE INTO outbox (event_id, document, created_at) VALUES (?, ?, ?)",
            (event.eventId, event.model_dump_json(), utcnow().isoformat()),
        )
        return cursor.rowcount == 1

    def add_event(self, event: OutboxEvent) -> bool:
        with self._connect(write=True) as db:
            return self._insert_event(db, event)

    def pending_events(self, limit: int = 100) -> list[OutboxEvent]:
        with self._connect() as db:
            rows = db.execute("SELECT document FROM outbox WHERE sent_at IS NULL"
                              " ORDER BY created_at, rowid LIMIT ?", (limit,)).fetchall()
        return [OutboxEvent.model_validate_json(row[0]) for row in rows]

    def mark_event_sent(self, event_id: str) -> None:
        with self._connect(write=True) as db:
            db.execute("UPDATE outbox SET sent_at = ? WHERE event_id = ? AND sent_at IS NULL",
                       (utcnow().isoformat(), event_id))

    def jobs_in_scope(self, user_id: str, scope: str) -> list[Job]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT document FROM jobs WHERE user_id = ? AND scope = ? ORDER BY rowid",
                (user_id, scope),
            ).fetchall()
        return [Job.model_validate_json(row[0]) for row in rows]

    def unfinished_jobs(self) -> list[Job]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT document FROM jobs WHERE json_extract(document, '$.status')"
                " IN ('PENDING', 'RUNNING')").fetchall()
        return [Job.model_validate_json(row[0]) for row in rows]

    def job_counts(self) -> JobCounts:
        with self._connect() as db:
            rows = db.execute(
                "SELECT json_extract(document, '$.taskType'), json_extract(document, '$.status'),"
                " COUNT(*) FROM jobs GROUP BY 1, 2").fetchall()
            oldest = db.execute(
                "SELECT MIN(json_extract(document, '$.createdAt')) FROM jobs"
                " WHERE json_extract(document, '$.status') = ?",
                (JobStatus.PENDING.value,)).fetchone()[0]
        by_type: dict[str, dict[str, int]] = {}
        for task_type, status, count in rows:
            by_type.setdefault(task_type, {})[status] = count
        return JobCounts(by_type, datetime.fromisoformat(oldest) if oldest else None)

    _RESULT_COLUMNS = "task_id, user_id, kind, scope, document, created_at"

    @staticmethod
    def _to_result(row: tuple[Any, ...]) -> StoredResult:
        return StoredResult(taskId=row[0], userId=row[1], kind=ResultKind(row[2]), scope=row[3],
                            document=json.loads(row[4]),
                            createdAt=datetime.fromisoformat(row[5]))

    def get_result(self, task_id: str, kind: ResultKind) -> StoredResult | None:
        with self._connect() as db:
            row = db.execute(
                f"SELECT {self._RESULT_COLUMNS} FROM results WHERE task_id = ? AND kind = ?",
                (task_id, kind.value),
            ).fetchone()
        return self._to_result(row) if row else None

    def latest_result(self, user_id: str, kind: ResultKind, scope: str = "") -> StoredResult | None:
        with self._connect() as db:
            row = db.execute(
                f"SELECT {self._RESULT_COLUMNS} FROM results"
                " WHERE user_id = ? AND kind = ? AND scope = ?"
                " ORDER BY created_at DESC, rowid DESC LIMIT 1",
                (user_id, kind.value, scope),
            ).fetchone()
        return self._to_result(row) if row else None

    def results_in_scope(self, user_id: str, kind: ResultKind, scope: str) -> list[StoredResult]:
        with self._connect() as db:
            rows = db.execute(
                f"SELECT {self._RESULT_COLUMNS} FROM results"
                " WHERE user_id = ? AND kind = ? AND scope = ? ORDER BY created_at, rowid",
                (user_id, kind.value, scope),
            ).fetchall()
        return [self._to_result(row) for row in rows]
