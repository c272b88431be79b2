"""MongoDB adapter: the production store. Conditional updates make handlers idempotent."""

from __future__ import annotations

import time
from typing import Any

from graphnode.contract import JobStatus
from graphnode.stores.base import Job, JobExistsError, Store, StoredGraph, final_changes, utcnow

NEWEST_FIRST = [("createdAt", -1), ("insertedNs", -1)]
FINAL = [JobStatus.COMPLETED.value, JobStatus.FAILED.value]


class MongoStore(Store):
    def __init__(self, url: str, database: str | None = None, client: Any | None = None) -> None:
        if client is None:
            import pymongo  # imported here: only processes that use MongoDB load the driver

            client = pymongo.MongoClient(url, tz_aware=True)
        self._client = client
        db = client[database] if database else client.get_default_database("graphnode")
        self.jobs = db["jobs"]
        self.graphs = db["graphs"]
        self.graphs.create_index([("userId", 1), *NEWEST_FIRST])

    def create_job(self, job: Job) -> None:
        from pymongo.errors import DuplicateKeyError

        try:
            document = {k: getattr(v, "value", v) for k, v in job.model_dump().items()}
            self.jobs.insert_one({"_id": job.taskId, **document})
        except DuplicateKeyError:
            raise JobExistsError(job.taskId) from None

    def get_job(self, task_id: str) -> Job | None:
        document = self.jobs.find_one({"_id": task_id})
        return Job.model_validate(document) if document else None

    def _update(self, query: dict[str, Any], changes: dict[str, Any]) -> bool:
        changes = {key: getattr(value, "value", value) for key, value in changes.items()}
        result = self.jobs.update_one(query, {"$set": {**changes, "updatedAt": utcnow()}})
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

    def save_graph(self, user_id: str, task_id: str, graph: dict[str, Any]) -> bool:
        result = self.graphs.update_one(
            {"_id": task_id},
            # insertedNs orders graphs saved within the same millisecond (BSON's resolution).
            {"$setOnInsert": {"userId": user_id, "graph": graph, "createdAt": utcnow(),
                              "insertedNs": time.time_ns()}},
            upsert=True,
        )
        return result.upserted_id is not None

    def latest_graph(self, user_id: str) -> StoredGraph | None:
        document = self.graphs.find_one({"userId": user_id}, sort=NEWEST_FIRST)
        if document is None:
            return None
        return StoredGraph(taskId=document["_id"], userId=user_id, graph=document["graph"],
                           createdAt=document["createdAt"])

    def close(self) -> None:
        self._client.close()
