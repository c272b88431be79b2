"""MongoDB adapter: the production store. Conditional updates make handlers idempotent, and a
job ends in one multi-document transaction (MongoDB needs a replica set for that, which
every production deployment, Atlas included, is)."""

from __future__ import annotations

import time
from typing import Any

from graphnode.contract.lifecycle import OutboxEvent
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

#: insertedNs orders documents saved within the same millisecond (BSON's resolution).
NEWEST_FIRST = [("createdAt", -1), ("insertedNs", -1)]
OLDEST_FIRST = [("createdAt", 1), ("insertedNs", 1)]
FINAL = [JobStatus.COMPLETED.value, JobStatus.FAILED.value]


def _plain(document: dict[str, Any]) -> dict[str, Any]:
    """Enums as their values: BSON stores strings."""
    return {key: getattr(value, "value", value) for key, value in document.items()}


class MongoStore(Store):
    def __init__(self, url: str, database: str | None = None, client: Any | None = None) -> None:
        if client is None:
            import pymongo  # imported here: only processes that use MongoDB load the driver

            client = pymongo.MongoClient(url, tz_aware=True)
        self._client = client
        db = client[database] if database else client.get_default_database("graphnode")
        self.jobs = db["jobs"]
        self.results = db["results"]
        self.current_graphs = db["current_graphs"]
        self.outbox = db["outbox"]
        self.jobs.create_index([("userId", 1), ("scope", 1), ("createdAt", 1)])
        self.jobs.create_index([("taskType", 1), ("status", 1), ("createdAt", 1)])
        self.results.create_index([("userId", 1), ("kind", 1), ("scope", 1), *NEWEST_FIRST])
        self.outbox.create_index([("sentAt", 1), ("createdAt", 1)])

    def create_job(self, job: Job) -> None:
        from pymongo.errors import DuplicateKeyError

        try:
            self.jobs.insert_one({"_id": job.taskId, **_plain(job.model_dump())})
        except DuplicateKeyError:
            raise JobExistsError(job.taskId) from None

    def get_job(self, task_id: str) -> Job | None:
        document = self.jobs.find_one({"_id": task_id})
        return Job.model_validate(document) if document else None

    def record_progress(self, task_id: str, stage: str, progress: float, attempt: int = 1) -> bool:
        # lifecycle.may_progress as one conditional update (atomic without a transaction).
        result = self.jobs.update_one(
            {"_id": task_id, "status": {"$nin": FINAL}, "$or": [
                {"attempts": {"$lt": attempt}},
                {"attempts": {"$exists": False}},  # a job recorded before attempts were
                {"attempts": attempt, "progress": {"$lt": progress}},
            ]},
            {"$set": {"status": JobStatus.RUNNING.value, "stage": stage, "progress": progress,
                      "attempts": attempt, "updatedAt": utcnow()}},
        )
        return result.modified_count == 1

    def commit(self, outcome: Outcome) -> Committed | None:
        with self._client.start_session() as session:
            return session.with_transaction(lambda s: self._commit(outcome, s))

    def _commit(self, outcome: Outcome, session: Any) -> Committed | None:
        document = self.jobs.find_one({"_id": outcome.taskId}, session=session)
        if document is None:
            return None
        job = Job.model_validate(document)
        current_id = self._current_graph(job.userId, session)
        current_document = (self.jobs.find_one({"_id": current_id}, session=session)
                            if current_id else None)
        current = Job.model_validate(current_document) if current_document else None
        effective = resolve(job, outcome, current)
        if effective is None:
            return Committed(job=job, changed=False)
        final, event = ended(job, effective, current)
        if final.status == JobStatus.COMPLETED:
            for kind, result in effective.results.items():
                self.results.update_one(
                    {"_id": f"{kind.value}:{job.taskId}"},
                    {"$setOnInsert": {"taskId": job.taskId, "userId": job.userId,
                                      "kind": kind.value, "scope": effective.scope,
                                      "document": result, "createdAt": utcnow(),
                                      "insertedNs": time.time_ns()}},
                    upsert=True, session=session,
                )
            if effective.becomesCurrentGraph:
                # A write to the one document all graph jobs of a user touch: concurrent
                # commits conflict here, and the transaction retries on the winner's state.
                self.current_graphs.update_one({"_id": job.userId},
                                               {"$set": {"taskId": job.taskId}},
                                               upsert=True, session=session)
        # The status in the filter makes a concurrent ending of the same job conflict.
        self.jobs.update_one({"_id": job.taskId, "status": job.status.value},
                             {"$set": _plain(final.model_dump())},
                             session=session)
        self._insert_event(event, session)
        return Committed(job=final, changed=True)

    def _current_graph(self, user_id: str, session: Any = None) -> str | None:
        document = self.current_graphs.find_one({"_id": user_id}, session=session)
        if document is None:  # a graph stored before current graphs were recorded
            document = self.results.find_one({"userId": user_id, "kind": ResultKind.GRAPH.value},
                                             sort=NEWEST_FIRST, session=session)
        return document["taskId"] if document else None

    def current_graph(self, user_id: str) -> str | None:
        return self._current_graph(user_id)

    def _insert_event(self, event: OutboxEvent, session: Any = None) -> bool:
        result = self.outbox.update_one(
            {"_id": event.eventId},
            {"$setOnInsert": {**event.model_dump(), "createdAt": utcnow(),
                              "insertedNs": time.time_ns(), "sentAt": None}},
            upsert=True, session=session,
        )
        return result.upserted_id is not None

    def add_event(self, event: OutboxEvent) -> bool:
        return self._insert_event(event)

    def pending_events(self, limit: int = 100) -> list[OutboxEvent]:
        cursor = self.outbox.find({"sentAt": None}, sort=OLDEST_FIRST, limit=limit)
        return [OutboxEvent.model_validate(document) for document in cursor]

    def mark_event_sent(self, event_id: str) -> None:
        self.outbox.update_one({"_id": event_id, "sentAt": None}, {"$set": {"sentAt": utcnow()}})

    def jobs_in_scope(self, user_id: str, scope: str) -> list[Job]:
        cursor = self.jobs.find({"userId": user_id, "scope": scope}, sort=[("createdAt", 1)])
        return [Job.model_validate(document) for document in cursor]

    def unfinished_jobs(self) -> list[Job]:
        cursor = self.jobs.find({"status": {"$in": [JobStatus.PENDING.value,
                                                    JobStatus.RUNNING.value]}})
        return [Job.model_validate(document) for document in cursor]

    def job_counts(self) -> JobCounts:
        # One count per type and state (indexed), not $group: a compound group key is what
        # MongoDB-compatible servers implement least consistently.
        by_type: dict[str, dict[str, int]] = {}
        for task_type in self.jobs.distinct("taskType"):
            for status in JobStatus:
                count = self.jobs.count_documents({"taskType": task_type,
                                                   "status": status.value})
                if count:
                    by_type.setdefault(task_type, {})[status.value] = count
        oldest = self.jobs.find_one({"status": JobStatus.PENDING.value},
                                    sort=[("createdAt", 1)], projection={"createdAt": 1})
        return JobCounts(by_type, oldest["createdAt"] if oldest else None)

    @staticmethod
    def _to_result(document: dict[str, Any]) -> StoredResult:
        return StoredResult(**document)

    def get_result(self, task_id: str, kind: ResultKind) -> StoredResult | None:
        document = self.results.find_one({"_id": f"{kind.value}:{task_id}"})
        return self._to_result(document) if document else None

    def latest_result(self, user_id: str, kind: ResultKind, scope: str = "") -> StoredResult | None:
        document = self.results.find_one({"userId": user_id, "kind": kind.value, "scope": scope},
                                         sort=NEWEST_FIRST)
        return self._to_result(document) if document else None

    def results_in_scope(self, user_id: str, kind: ResultKind, scope: str) -> list[StoredResult]:
        cursor = self.results.find({"userId": user_id, "kind": kind.value, "scope": scope},
                                   sort=OLDEST_FIRST)
        return [self._to_result(document) for document in cursor]

    def close(self) -> None:
        self._client.close()
