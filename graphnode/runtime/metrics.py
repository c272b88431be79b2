"""Prometheus metrics of the API and both workers, and the queue gauges of ``graphnode status``.

gunicorn and Celery's prefork pool run several processes per role: with
``PROMETHEUS_MULTIPROC_DIR`` set (an empty directory per role instance, before the role
starts; the Procfile and the local stack do it), every process writes its samples there and
one scrape adds them up. Without it each process counts alone (fine for one process).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from graphnode.settings import CommonSettings

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

HTTP_REQUESTS = Counter("graphnode_http_requests_total", "API requests by route and status.",
                        ["method", "route", "status"])
HTTP_LATENCY = Histogram("graphnode_http_request_duration_seconds",
                         "API request latency by route (the SSE stream excluded).",
                         ["method", "route"])
JOBS_ACCEPTED = Counter("graphnode_jobs_accepted_total", "Jobs the API accepted (202), by type.",
                        ["task_type"])
LIMIT_REFUSALS = Counter("graphnode_limit_refusals_total",
                         "Submissions the API refused with 429, by reason (the error code).",
                         ["reason"])
LIMIT_CHECKS_SKIPPED = Counter("graphnode_limit_checks_skipped_total",
                               "Submissions admitted without a limit check: Redis did not "
                               "answer (the limits fail open).")
TASKS = Counter(
    "graphnode_tasks_total",
    "Tasks run by the workers, by type and Celery state (success, failure, rejected).",
    ["task_type", "outcome"])
TASK_DURATION = Histogram("graphnode_task_duration_seconds", "Task run time, by type.",
                          ["task_type"], buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
                                                  120, 300, 600, 1800))
STAGE_DURATION = Histogram("graphnode_pipeline_stage_duration_seconds",
                           "Time a request spent in each reported pipeline stage.",
                           ["task_type", "stage"], buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
                                                            60, 120, 300, 600))
VISIBILITY_HEARTBEATS = Counter("graphnode_visibility_heartbeats_total",
                                "Visibility extensions sent for messages a worker holds.")
REDELIVERIES = Counter("graphnode_redeliveries_total",
                       "Messages received again (ApproximateReceiveCount > 1), by type.",
                       ["task_type"])
GIVE_UPS = Counter("graphnode_give_ups_total",
                   "Last receives before the DLQ that failed and ended their job, by type.",
                   ["task_type"])
MESSAGES_REFUSED = Counter(
    "graphnode_messages_refused_total",
    "Messages a worker would not act on, by type and reason: malformed, unknown_job, "
    "not_owner (the job is another user's), wrong_type (not a result of the job's type), "
    "foreign_key (an S3 key outside the user's own objects).",
    ["task_type", "reason"])
RUNS_AVOIDED = Counter("graphnode_runs_avoided_total",
                       "Redelivered requests not run again: an earlier run had sent its "
                       "result, which was sent again instead, by type.", ["task_type"])
JOBS_LOST = Counter("graphnode_jobs_lost_total",
                    "Jobs ended FAILED (lost) at the job deadline: nothing ended them, by type.",
                    ["task_type"])
EVENT_PUBLISHES = Counter("graphnode_event_publishes_total",
                          "SNS PublishBatch calls that carried Celery events (Flower's view).")
EVENTS_DROPPED = Counter(
    "graphnode_events_dropped_total",
    "Celery events not published, by kind: heartbeat or task (the buffer was full while "
    "SNS was slow; heartbeats go first), refused (SNS called the message invalid), unsent "
    "(packed messages a closing worker could not publish on its one last try).",
    ["kind"])

#: Queue attributes scraped at most this often: each scrape is two SQS calls per queue.
QUEUE_GAUGE_CACHE_SECONDS = 5.0


def registry_for_scrape(extra: list[Collector] | None = None) -> CollectorRegistry:
    """The registry a scrape reads: every process's samples in multi-process mode, else
    this process's, plus ``extra`` collectors (queue gauges)."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY

        registry = CollectorRegistry()
        registry.register(_Delegate(REGISTRY))
    for collector in extra or []:
        registry.register(collector)
    return registry


class _Delegate(Collector):
    """The default registry's metrics inside a registry of our own (to add queue gauges)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Any]:
        return self.registry.collect()


def exposition(registry: CollectorRegistry) -> tuple[bytes, str]:
    return generate_latest(registry), CONTENT_TYPE_LATEST


class QueueCollector(Collector):
    """``graphnode_queue_messages{queue, state}`` (visible, in_flight, delayed) of the request
    and result queues and their DLQs, read from SQS at scrape time (cached a few seconds)."""

    def __init__(self, settings: CommonSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._cached: tuple[float, list[dict[str, Any]]] | None = None

    def depths(self) -> list[dict[str, Any]]:
        from graphnode.runtime.status import queue_depths

        with self._lock:
            now = time.monotonic()
            if self._cached is None or now - self._cached[0] > QUEUE_GAUGE_CACHE_SECONDS:
                self._cached = (now, queue_depths(self.settings))
            return self._cached[1]

    def collect(self) -> Iterator[Any]:
        family = GaugeMetricFamily("graphnode_queue_messages",
                                   "Messages in each SQS queue, by state.",
                                   labels=["queue", "state"])
        up = GaugeMetricFamily("graphnode_queue_up", "1 if the queue's attributes could be read.",
                               labels=["queue"])
        for depth in self.depths():
            up.add_metric([depth["queue"]], 0.0 if depth.get("error") else 1.0)
            if depth.get("error"):
                continue
            for state in ("visible", "inFlight", "delayed"):
                family.add_metric([depth["queue"], _snake(state)], float(depth[state]))
        yield family
        yield up


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def start_worker_exporter(port: int, settings: CommonSettings | None) -> None:
    """Serve the worker's metrics (all pool processes) on ``port``, from a thread of the
    worker's main process; ``settings`` adds the queue gauges."""
    extra: list[Collector] = [QueueCollector(settings)] if settings is not None else []
    start_http_server(port, addr=os.environ.get("GRAPHNODE_METRICS_ADDR", "0.0.0.0"),
                      registry=registry_for_scrape(extra))


def mark_process_dead(pid: int) -> None:
    """A pool process or gunicorn worker exited: its live gauges no longer count."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(pid)
