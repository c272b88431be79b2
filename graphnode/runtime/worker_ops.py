"""What a worker tells operators about itself: its record for ``graphnode status``
(``graphnode.runtime.beacon``), its Prometheus exporter, and the task counts and durations behind
it; and the worker class that loads only its role's tasks.

Signals, so that the task bodies and the lifecycle middleware stay as they are:
``task_received`` runs in the worker's main process (redeliveries), ``task_prerun`` and
``task_postrun`` where the task runs (a prefork child: multi-process metrics).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import Celery, signals
from celery.apps.worker import Worker

from graphnode.runtime import logs, metrics
from graphnode.runtime.beacon import WorkerBeacon
from graphnode.runtime.roles import role_task_modules, worker_role
from graphnode.settings import CommonSettings

logger = logging.getLogger(__name__)


#: How long a worker waits between looks for its queues.
QUEUE_RETRY_SECONDS = 5.0


def wait_for_queues(settings: CommonSettings, queues: list[str],
                    retry_seconds: float = QUEUE_RETRY_SECONDS) -> None:
    """Start consuming only once the queues exist: against the local emulator, provision
    them (idempotent, so ``honcho start`` needs no separate step); elsewhere say in one
    line what is missing and look again, rather than fail with a traceback."""
    import sys

    from graphnode.aws import aws_client
    from graphnode.runtime.transport import names_missing_queue

    provisioned = False
    while True:
        try:
            sqs = aws_client("sqs", settings)
            for queue in queues:
                sqs.get_queue_attributes(QueueUrl=settings.queue_url(queue),
                                         AttributeNames=["QueueArn"])
            return
        except Exception as exc:
            missing = names_missing_queue(exc)
            if missing and settings.uses_local_emulator and not provisioned:
                from graphnode.contract.topology import provision

                provision(settings)
                provisioned = True
                continue
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            print(f"graphnode worker: queues {', '.join(queues)} not reachable ({reason}); "
                  f"run `graphnode provision` (emulator) or `terraform apply`; retrying in "
                  f"{retry_seconds:g} s", file=sys.stderr, flush=True)
            time.sleep(retry_seconds)


def install(app: Celery) -> None:
    settings: CommonSettings = app.graphnode_settings  # type: ignore[attr-defined]
    started: dict[str, float] = {}
    beacons: list[WorkerBeacon] = []

    @signals.worker_init.connect(weak=False)
    def _name_role(sender: Any = None, **_: Any) -> None:
        if sender is not None and sender.app is app:
            queues = list(app.amqp.queues.consume_from or {})
            logs.set_role(worker_role(settings, queues))
            wait_for_queues(settings, queues or [settings.request_queue,
                                                 settings.result_queue])

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
        controller = getattr(sender, "controller", None)
        beacon = WorkerBeacon(settings, sender.hostname, worker_role(settings, queues), queues,
                              concurrency=getattr(controller, "concurrency", None),
                              registered=sorted(name for name in sender.app.tasks
                                                if not name.startswith("celery.")))
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


class RoleWorker(Worker):
    """Celery's worker, loading only the task modules of its queues (``-Q``).

    Narrowed here, before ``WorkController.__init__`` imports the includes: Celery imports
    them before it sends ``celeryd_init``, so a signal handler would be too late."""

    def __init__(self, app: Celery | None = None, hostname: str | None = None,
                 **kwargs: Any) -> None:
        app = app or self.app
        queues = kwargs.get("queues") or None
        if isinstance(queues, str):
            queues = [q.strip() for q in queues.split(",") if q.strip()]
        app.conf.include = role_task_modules(app.graphnode_settings,  # type: ignore[attr-defined]
                                             queues)
        super().__init__(app, hostname, **kwargs)
