"""What a worker tells operators about itself: its record for ``graphnode status``
(``graphnode.beacon``), its Prometheus exporter, and the task counts and durations behind it.

Signals, so that the task bodies and the lifecycle middleware stay as they are:
``task_received`` runs in the worker's main process (redeliveries), ``task_prerun`` and
``task_postrun`` where the task runs (a prefork child: multi-process metrics).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import Celery, signals

from graphnode import logs, metrics
from graphnode.beacon import WorkerBeacon, worker_role
from graphnode.settings import CommonSettings

logger = logging.getLogger(__name__)


def install(app: Celery) -> None:
    settings: CommonSettings = app.graphnode_settings  # type: ignore[attr-defined]
    started: dict[str, float] = {}
    beacons: list[WorkerBeacon] = []

    @signals.worker_init.connect(weak=False)
    def _name_role(sender: Any = None, **_: Any) -> None:
        if sender is not None and sender.app is app:
            logs.set_role(worker_role(settings, list(app.amqp.queues.consume_from or {})))

    @signals.after_setup_logger.connect(weak=False)
    @signals.after_setup_task_logger.connect(weak=False)
    def _format_logs(logger: logging.Logger | None = None, **_: Any) -> None:
        for handler in logger.handlers if logger is not None else []:
            logs.apply(handler)

    @signals.worker_ready.connect(weak=False)
    def _announce(sender: Any = None, **_: Any) -> None:
        if sender is None or sender.app is not app:
            return
        queues = sorted(sender.app.amqp.queues.consume_from or {})
        beacon = WorkerBeacon(settings, sender.hostname, worker_role(settings, queues), queues)
        beacon.start()
        beacons.append(beacon)
        if settings.metrics_port:
            metrics.start_worker_exporter(settings.metrics_port, settings)
            logger.info("metrics on :%d/metrics", settings.metrics_port)

    @signals.worker_shutdown.connect(weak=False)
    def _leave(sender: Any = None, **_: Any) -> None:
        while beacons:
            beacons.pop().stop()

    @signals.task_received.connect(weak=False)
    def _count_redelivery(request: Any = None, **_: Any) -> None:
        if request is not None and getattr(request, "receive_count", 1) > 1:
            metrics.REDELIVERIES.labels(request.name).inc()

    @signals.task_prerun.connect(weak=False)
    def _start_clock(task_id: str = "", **_: Any) -> None:
        started[task_id] = time.monotonic()

    @signals.task_postrun.connect(weak=False)
    def _count(task_id: str = "", task: Any = None, state: str | None = None, **_: Any) -> None:
        began = started.pop(task_id, None)
        name = getattr(task, "name", "unknown")
        metrics.TASKS.labels(name, (state or "unknown").lower()).inc()
        if began is not None:
            metrics.TASK_DURATION.labels(name).observe(time.monotonic() - began)

    @signals.worker_process_shutdown.connect(weak=False)
    def _forget_process(pid: int | None = None, **_: Any) -> None:
        if pid:
            metrics.mark_process_dead(pid)
