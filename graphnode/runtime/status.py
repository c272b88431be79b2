"""What ``graphnode status`` shows an operator: queues, workers, jobs.

- Queues: visible, in-flight and delayed messages of graph-req, graph-res and their DLQs
  (SQS attributes), and the age of the oldest waiting message: CloudWatch's
  ``ApproximateAgeOfOldestMessage`` where it exists (real AWS); otherwise, for the request
  queue, the age of the oldest PENDING job in the store. Messages are never received to
  look at them: a receive counts towards maxReceiveCount, and so towards the DLQ.
- Workers: the records every worker keeps in the payload bucket (``graphnode.runtime.beacon``);
  only those seen within ``WORKER_SEEN_SECONDS`` are listed.
- Jobs: by type and state, from the store (when this machine can reach it).

Each part fails alone: an unreachable part is reported with its error, the rest still shows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from graphnode.aws import aws_client
from graphnode.settings import CommonSettings

#: A worker whose record is older than this is not listed (records are refreshed every 15 s).
WORKER_SEEN_SECONDS = 60
QUEUE_ATTRIBUTES = {
    "visible": "ApproximateNumberOfMessages",
    "inFlight": "ApproximateNumberOfMessagesNotVisible",
    "delayed": "ApproximateNumberOfMessagesDelayed",
}


def monitored_queues(settings: CommonSettings) -> list[str]:
    from graphnode.contract.topology import dlq_name

    names = [settings.request_queue, settings.result_queue]
    return [name for queue in names for name in (queue, dlq_name(queue))]


def queue_depths(settings: CommonSettings, sqs: Any = None) -> list[dict[str, Any]]:
    """Each monitored queue's message counts, or its error (a queue not provisioned)."""
    sqs = sqs or aws_client("sqs", settings)
    depths = []
    for name in monitored_queues(settings):
        try:
            attributes = sqs.get_queue_attributes(
                QueueUrl=settings.queue_url(name),
                AttributeNames=list(QUEUE_ATTRIBUTES.values()))["Attributes"]
            depths.append({"queue": name, **{key: int(attributes.get(attr, 0))
                                             for key, attr in QUEUE_ATTRIBUTES.items()}})
        except Exception as exc:  # botocore ClientError or a connection error
            depths.append({"queue": name, "error": _short(exc)})
    return depths


def oldest_message_age(settings: CommonSettings, queue: str) -> float | None:
    """CloudWatch's age of the oldest message of ``queue`` over the last five minutes."""
    from datetime import timedelta

    now = datetime.now(UTC)
    answer = aws_client("cloudwatch", settings).get_metric_statistics(
        Namespace="AWS/SQS", MetricName="ApproximateAgeOfOldestMessage",
        Dimensions=[{"Name": "QueueName", "Value": queue}],
        StartTime=now - timedelta(minutes=5), EndTime=now, Period=60, Statistics=["Maximum"])
    points = sorted(answer.get("Datapoints", []), key=lambda p: p["Timestamp"])
    return float(points[-1]["Maximum"]) if points else None


def live_workers(settings: CommonSettings, now: datetime | None = None) -> list[dict[str, Any]]:
    from graphnode.runtime.beacon import read_records

    now = now or datetime.now(UTC)
    fresh = []
    for record in read_records(settings):
        seen = datetime.fromisoformat(record["seenAt"])
        age = (now - seen).total_seconds()
        if age <= WORKER_SEEN_SECONDS:
            fresh.append({**record, "seenSecondsAgo": round(age, 1)})
    return sorted(fresh, key=lambda r: (r["role"], r["hostname"]))


def job_counts(store_url: str) -> dict[str, Any]:
    """Jobs by type and state; a SQLite file that is not there is an error, not created."""
    from pathlib import Path

    from graphnode.settings import SQLITE_PREFIX
    from graphnode.stores import open_store

    if store_url.startswith(SQLITE_PREFIX) and \
            not Path(store_url.removeprefix(SQLITE_PREFIX)).exists():
        raise FileNotFoundError(f"no SQLite store at {store_url.removeprefix(SQLITE_PREFIX)} "
                                "(set GRAPHNODE_STORE_URL)")
    store = open_store(store_url, busy_timeout=2.0)
    try:
        counts = store.job_counts()
    finally:
        store.close()
    return {"byType": counts.by_type,
            "oldestPendingAt": counts.oldest_pending_at.isoformat()
            if counts.oldest_pending_at else None}


def gather(settings: CommonSettings, store_url: str | None) -> dict[str, Any]:
    """The whole status as one JSON-ready document."""
    now = datetime.now(UTC)
    status: dict[str, Any] = {"at": now.isoformat(), "queues": queue_depths(settings)}
    jobs: dict[str, Any] | None = None
    if store_url:
        try:
            jobs = job_counts(store_url)
        except Exception as exc:
            jobs = {"error": _short(exc)}
    for depth in status["queues"]:
        if depth.get("error"):
            continue
        try:
            age = oldest_message_age(settings, depth["queue"])
            source = "cloudwatch"
        except Exception:  # no CloudWatch (the emulator) or no permission for it
            age, source = None, None
        if age is None and depth["queue"] == settings.request_queue and jobs and \
                jobs.get("oldestPendingAt") and depth["visible"]:
            age = (now - datetime.fromisoformat(jobs["oldestPendingAt"])).total_seconds()
            source = "oldest PENDING job"
        depth["oldestAgeSeconds"] = round(age, 1) if age is not None else None
        depth["oldestAgeSource"] = source
    try:
        status["workers"] = live_workers(settings, now)
    except Exception as exc:
        status["workers"] = {"error": _short(exc)}
    status["jobs"] = jobs if jobs is not None else {"error": "no store configured"}
    return status


def render(status: dict[str, Any]) -> str:
    """The status as text for a terminal."""
    lines = [f"GraphNode status at {status['at']}", "", "QUEUE                VISIBLE  "
             "IN FLIGHT  DELAYED  OLDEST WAITING"]
    for depth in status["queues"]:
        if depth.get("error"):
            lines.append(f"{depth['queue']:<20} unavailable: {depth['error']}")
            continue
        age = depth.get("oldestAgeSeconds")
        oldest = "-" if age is None else f"{age:.0f} s ({depth['oldestAgeSource']})"
        lines.append(f"{depth['queue']:<20} {depth['visible']:>7}  {depth['inFlight']:>9}  "
                     f"{depth['delayed']:>7}  {oldest}")
    lines += ["", f"WORKERS (seen in the last {WORKER_SEEN_SECONDS} s)"]
    workers = status["workers"]
    if isinstance(workers, dict):
        lines.append(f"  unavailable: {workers['error']}")
    elif not workers:
        lines.append("  none")
    for worker in workers if isinstance(workers, list) else []:
        running = ", ".join(f"{t['taskType']} {t['taskId']} ({t['runningSeconds']:.0f} s)"
                            for t in worker["running"]) or "idle"
        lines.append(f"  {worker['hostname']:<32} {worker['role']:<11} seen "
                     f"{worker['seenSecondsAgo']:.0f} s ago  {running}")
    lines += ["", "JOBS"]
    jobs = status["jobs"]
    if "error" in jobs:
        lines.append(f"  unavailable: {jobs['error']}")
    elif not jobs["byType"]:
        lines.append("  none")
    for task_type, states in sorted(jobs.get("byType", {}).items()):
        counts = "  ".join(f"{state} {n}" for state, n in sorted(states.items()))
        lines.append(f"  {task_type:<28} {counts}")
    return "\n".join(lines)


def unavailable_parts(status: dict[str, Any]) -> list[str]:
    """The parts that could not be read (a queue, the worker records, the store): what
    ``graphnode status`` names, and exits non-zero for, as ``/readyz`` answers 503."""
    parts = [f"queue {depth['queue']}" for depth in status["queues"] if depth.get("error")]
    if isinstance(status["workers"], dict):
        parts.append("worker records (bucket)")
    if "error" in status["jobs"]:
        parts.append("store")
    return parts


def _short(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
