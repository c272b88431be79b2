"""MongoDB adapter: the production store. Conditional updates make handlers idempotent."""

from __future__ import annotations

import time
from typing import Any

from graphnode.contract import JobStatus
from graphnode.stores.base import (
    Job,
    JobExistsError,
    ResultKind,
    Store,
    StoredResult,
    final_changes,
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
        self.jobs.create_index([("userId", 1), ("scope", 1), ("createdAt", 1)])
        self.results.create_index([("userId", 1), ("kind", 1), ("scope", 1), *NEWEST_FIRST])

    def create_job(self, job: Job) -> None:
        from pymongo.errors import DuplicateKeyError

        try:
            self.jobs.insert_one({"_id": job.taskId, **_plain(job.model_dump())})
        except DuplicateKeyError:
            raise JobExistsError(job.taskId) from None

    def get_job(self, task_id: str) -> Job | None:
        document = self.jobs.find_one({"_id": task_id})
        return Job.model_validate(document) if document else None

    def _update(self, query: dict[str, Any], changes: dict[str, Any]) -> bool:
        result = self.jobs.update_one(query, {"$set": {**_plain(changes), "updatedAt": utcnow()}})
        return result.modified_count == 1

    def record_progress(self, task_id: str, stage: str, progress: float) -> bool:
        return self._update(
            {"_id": task_id, "status": {"$nin": FINAL}, "progress": {"$lt": progress}},
            {"status": JobStatus.RUNNING, "stage": stage, "progress": progress},
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
            {"_id": task_id, "status": {"$nin": FINAL}},
            final_changes(status, output_keys, stats, error),
        )

    def mark_notified(self, task_id: str) -> None:
        self._update({"_id": task_id, "notified": False}, {"notified": True})

    def jobs_in_scope(self, user_id: str, scope: str) -> list[Job]:
        cursor = self.jobs.find({"userId": user_id, "scope": scope}, sort=[("createdAt", 1)])
        return [Job.model_validate(document) for document in cursor]

    def save_result(self, user_id: str, task_id: str, kind: ResultKind, document: Any,
                    scope: str = "") -> bool:
        result = self.results.update_one(
            {"_id": f"{kind.value}:{task_id}"},
            {"$setOnInsert": {"taskId": task_id, "userId": user_id, "kind": kind.value,
                              "scope": scope, "document": document, "createdAt": utcnow(),
                              "insertedNs": time.time_ns()}},
            upsert=True,
        )
        return result.upserted_id is not None

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
