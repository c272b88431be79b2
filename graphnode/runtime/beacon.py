"""Worker records for ``graphnode status``: who is alive, in which role, running what.

Stock Celery learns this from remote control or events, neither of which SQS carries as
is; and the GPU worker may not reach the database or Redis. Every worker can reach the
payload bucket, so each keeps one small JSON object there, ``ops/workers/<hostname>.json``,
rewritten every ``BEACON_SECONDS`` from a thread of its main process and deleted on a clean
shutdown. A record not refreshed for a minute is a dead worker's, and ``status`` skips it.
Flower's worker list (its ``inspect`` calls) is answered from the same records
(``inspect_reply``, through ``graphnode.runtime.transport.SqsControl``).
"""

from __future__ import annotations

import json
import logging
import os
import time
from datetime import UTC, datetime
from typing import Any

from graphnode.aws import aws_client
from graphnode.runtime.periodic import Periodic
from graphnode.settings import CommonSettings

logger = logging.getLogger(__name__)

WORKERS_PREFIX = "ops/workers/"
BEACON_SECONDS = 15.0
#: Each record call gives up after this long, untried again: a record is advisory, and its
#: calls sit on paths that must not hang on a bucket that is gone (a worker's shutdown
#: deletes its record; Flower's worker list reads them in threads its exit waits for).
RECORD_CALL_SECONDS = 3.0


def processed_counts() -> dict[str, int]:
    """Tasks this worker has received since it started, by name (Celery's ``stats`` total)."""
    from celery.worker import state as worker_state

    return dict(worker_state.total_count)


def running_tasks(now: float | None = None) -> list[dict[str, Any]]:
    """The tasks this worker runs now (its main process's view)."""
    from celery.worker import state as worker_state

    now = now or time.time()
    running = []
    for request in list(worker_state.active_requests):
        started = getattr(request, "time_start", None) or now
        running.append({"taskId": request.id, "taskType": request.name,
                        "runningSeconds": round(now - started, 1),
                        "receiveCount": getattr(request, "receive_count", 1)})
    return running


class WorkerBeacon:
    """Keeps this worker's record fresh; a daemon thread."""

    def __init__(self, settings: CommonSettings, hostname: str, role: str, queues: list[str],
                 interval: float = BEACON_SECONDS, *, concurrency: int | None = None,
                 registered: list[str] | None = None) -> None:
        self.settings = settings
        self.interval = interval
        self.key = f"{WORKERS_PREFIX}{hostname}.json"
        self.identity = {"hostname": hostname, "role": role, "queues": queues,
                         "pid": os.getpid(), "startedAt": datetime.now(UTC).isoformat(),
                         "concurrency": concurrency, "registered": registered or []}
        self._thread = Periodic("worker-beacon", interval, self._beat_logged, first_at_start=True)
        self._s3: Any = None

    def record(self) -> dict[str, Any]:
        return {**self.identity, "seenAt": datetime.now(UTC).isoformat(),
                "running": running_tasks(), "processed": processed_counts()}

    def beat(self) -> None:
        if self._s3 is None:
            self._s3 = aws_client("s3", self.settings, timeout=RECORD_CALL_SECONDS)
        self._s3.put_object(Bucket=self.settings.payload_bucket, Key=self.key,
                            Body=json.dumps(self.record()).encode(),
                            ContentType="application/json")

    def start(self) -> None:
        self._thread.start()

    def _beat_logged(self) -> None:
        try:
            self.beat()
        except Exception as exc:  # S3 unreachable: status misses this worker meanwhile
            logger.warning("worker record not written (%s)", exc)

    def stop(self) -> None:
        """Stop beating and delete the record: a worker that left cleanly is not listed."""
        self._thread.stop()
        try:
            aws_client("s3", self.settings, timeout=RECORD_CALL_SECONDS).delete_object(
                Bucket=self.settings.payload_bucket, Key=self.key)
        except Exception as exc:
            logger.warning("worker record %s not deleted (%s); it ages out", self.key, exc)


def read_records(settings: CommonSettings) -> list[dict[str, Any]]:
    s3 = aws_client("s3", settings, timeout=RECORD_CALL_SECONDS)
    records = []
    listing = s3.list_objects_v2(Bucket=settings.payload_bucket, Prefix=WORKERS_PREFIX)
    for item in listing.get("Contents", []):
        try:
            body = s3.get_object(Bucket=settings.payload_bucket, Key=item["Key"])["Body"].read()
            records.append(json.loads(body))
        except Exception as exc:  # deleted between list and get, or not JSON
            logger.debug("worker record %s skipped: %s", item["Key"], exc)
    return records


#: The ``inspect`` commands a record answers: those Flower sends to list the workers
#: (``stats``, ``active_queues``, ``registered``) and to show one worker's running tasks.
INSPECTABLE = frozenset({"stats", "active_queues", "registered", "active"})


def inspect_reply(record: dict[str, Any], command: str) -> Any:
    """What the worker would answer to ``celery inspect <command>``, as far as its record
    tells, in the shape Celery's answer has (so that Flower shows it unchanged)."""
    if command == "stats":
        return {"pid": record["pid"], "pool": {"max-concurrency": record.get("concurrency")},
                "total": record.get("processed", {}), "broker": {"transport": "sqs"},
                "role": record["role"], "startedAt": record["startedAt"],
                "seenAt": record["seenAt"]}
    if command == "active_queues":
        return [{"name": queue, "exchange": {"name": queue, "type": "direct"},
                 "routing_key": queue, "durable": True, "exclusive": False,
                 "auto_delete": False, "no_ack": False, "alias": None,
                 "queue_arguments": None, "binding_arguments": None}
                for queue in record["queues"]]
    if command == "registered":
        return record.get("registered", [])
    if command == "active":
        seen = datetime.fromisoformat(record["seenAt"]).timestamp()
        return [{"id": task["taskId"], "name": task["taskType"], "hostname": record["hostname"],
                 "time_start": seen - task["runningSeconds"], "acknowledged": False,
                 "worker_pid": None, "receiveCount": task["receiveCount"]}
                for task in record.get("running", [])]
    raise ValueError(f"a worker record does not answer inspect {command!r}")
