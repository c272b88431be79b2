"""The Celery app factory: each role builds its app when it starts, from the settings of
that moment (``celery -A graphnode`` through ``graphnode.celery``, the API in
``graphnode.api.celery_init_app``); nothing is built on import.

Requests ride graph-req to the GPU worker, results and progress ride graph-res to the
result worker. Tasks are declared with ``shared_task`` and named by their contract
``taskType``, so that they join whichever app the role built, and the API sends them by
name without importing ``tasks/``.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import cached_property
from typing import Any

from celery import Celery, signals
from kombu import Exchange, Queue
from kombu.transport import TRANSPORT_ALIASES
from pydantic import ValidationError

from graphnode.contract.lifecycle import visibility_window_seconds
from graphnode.contract.messages import TaskType
from graphnode.contract.topology import EmulatorReprovisioner
from graphnode.runtime.roles import TASK_MODULES, queue_for, role_settings
from graphnode.settings import CommonSettings, describe_invalid

#: Long polling: SQS holds a ReceiveMessage open up to 20 s (its maximum) until a message
#: arrives, so idle workers make 3 requests a minute instead of dozens.
SQS_LONG_POLL_SECONDS = 20

#: A task past its soft time limit has this long to end before its process is killed.
HARD_TIME_LIMIT_GRACE_SECONDS = 60

#: kombu's SQS transport with Celery events over SNS (graphnode.runtime.transport).
TRANSPORT_ALIAS = "graphnode-sqs"
# Registered on import, so that every broker URL that ``celery_config`` builds resolves.
TRANSPORT_ALIASES.setdefault(TRANSPORT_ALIAS, "graphnode.runtime.transport:Transport")


def celery_config(settings: CommonSettings) -> dict[str, Any]:
    queues = [settings.request_queue, settings.result_queue]
    predefined = {name: {"url": settings.queue_url(name)} for name in queues}
    events: dict[str, Any] = {}
    if settings.events_enabled:
        predefined[settings.events_queue] = {"url": settings.queue_url(settings.events_queue)}
        events = {"supports_fanout": True,
                  "predefined_exchanges": {"celeryev": {"arn": settings.events_topic_arn}},
                  "graphnode_events_queue": settings.events_queue,
                  "graphnode_events_flush_seconds": settings.events_flush_seconds}
    return {
        "broker_url": settings.broker_url.replace("sqs://", f"{TRANSPORT_ALIAS}://", 1),
        "broker_transport_options": {
            "region": settings.aws_region,
            "is_secure": (settings.aws_endpoint_url or "https").startswith("https"),
            # Only these queues exist; kombu must never create queues of its own
            # (pidbox, celeryev) on SQS.
            "predefined_queues": predefined,
            **events,
            "wait_time_seconds": SQS_LONG_POLL_SECONDS,
            # Each receive hides its messages for one heartbeat window
            # (graphnode.runtime.transport).
            "graphnode_receive_visibility_seconds": visibility_window_seconds(
                settings.visibility_heartbeat_seconds),
            # A queue gone from the emulator (restarted empty) is provisioned again.
            "graphnode_on_missing_queue": (EmulatorReprovisioner(settings)
                                           if settings.uses_local_emulator else None),
            "polling_interval": 0,
            # Plain JSON bodies: kombu base64-encodes both the SQS body and the message
            # body inside it by default, adding a third to every message each time.
            "sqs_base64_encoding": False,
            "body_encoding": None,
        },
        "broker_connection_retry_on_startup": True,
        # One direct exchange per queue, so a route to a queue name cannot land elsewhere.
        "task_queues": [Queue(name, Exchange(name, type="direct"), routing_key=name)
                        for name in queues],
        "task_default_queue": settings.request_queue,
        "task_create_missing_queues": False,
        "task_routes": {t.value: {"queue": queue_for(t, settings)} for t in TaskType},
        "task_serializer": "json",
        "accept_content": ["json"],
        # At-least-once: a message is deleted only after its handler succeeded. A failure
        # is not acknowledged, so SQS redelivers it and, after maxReceiveCount, moves it to
        # the DLQ. Celery's retry() is not used: it would publish a new message and reset
        # the receive count that the redrive policy relies on.
        "task_acks_late": True,
        "task_acks_on_failure_or_timeout": False,
        # A lost worker's message is left unacknowledged like any failure, and comes back
        # after the backoff (graphnode.runtime.middleware). Celery's requeue would have kombu
        # hide it for the long-poll time (20 s) instead.
        "task_reject_on_worker_lost": False,
        "worker_prefetch_multiplier": 1,
        # Every task is bounded (result handlers set shorter limits of their own).
        "task_soft_time_limit": settings.task_soft_time_limit_seconds,
        "task_time_limit": settings.task_soft_time_limit_seconds + HARD_TIME_LIMIT_GRACE_SECONDS,
        # Results travel as messages on graph-res, not through a Celery result backend.
        "task_ignore_result": True,
        # Task events and worker heartbeats ride the SNS topic (graphnode.runtime.transport);
        # a reader consumes its declared queue. Remote control needs a reply queue per
        # caller and stays off (graphnode status shows workers and their tasks).
        "worker_enable_remote_control": False,
        "worker_send_task_events": settings.events_enabled,
        "event_queue_prefix": settings.events_queue,
        "task_send_sent_event": False,
        "include": TASK_MODULES,
    }


class SettingsError(RuntimeError):
    """A worker's settings are invalid; the message is one line that names what to fix."""


def check_worker_settings(settings: CommonSettings, queues: Collection[str] | None) -> None:
    """Build the settings of every role a worker consuming ``queues`` (None: all) plays.

    Settings are otherwise built on a task's first use, so a bad value failed each job late,
    once per receive; building them here makes the worker refuse to start instead.
    """
    for role in role_settings(settings, queues):
        try:
            role()
        except ValidationError as exc:
            raise SettingsError(f"invalid {role.__name__}: {describe_invalid(exc)}") from None


def refuse_to_start_with_bad_settings(app: Celery) -> None:
    """On ``worker_init`` (queues selected, nothing consumed yet), exit non-zero with the
    message. SystemExit, because Celery logs and ignores a signal handler's Exception."""

    @signals.worker_init.connect(weak=False)
    def check(sender: Any, **_: Any) -> None:
        if sender.app is not app:
            return
        selected = sender.app.amqp.queues.consume_from
        try:
            check_worker_settings(app.graphnode_settings,  # type: ignore[attr-defined]
                                  list(selected) if selected else None)
        except SettingsError as exc:
            raise SystemExit(f"graphnode worker refuses to start: {exc}") from None


class GraphNodeCelery(Celery):
    """Celery, whose worker loads only the tasks of its role (``worker_ops.RoleWorker``)."""

    @cached_property
    def Worker(self) -> Any:  # Celery's name
        from graphnode.runtime.worker_ops import RoleWorker

        return self.subclass_with_self(RoleWorker)


def create_celery_app(settings: CommonSettings | None = None, *, worker: bool = True) -> Celery:
    """A configured app; ``settings`` default to the environment's, read now.

    ``worker`` wires what a worker process does on Celery's signals (the visibility
    heartbeat, settings and queue checks, its record and metrics).
    A process that only sends or reads events (the API, a test) leaves it out: the signals
    are process-wide, and each app wired would stay connected to them.
    """
    settings = settings or CommonSettings()
    app = GraphNodeCelery("graphnode", set_as_current=True,
                          control="graphnode.runtime.transport:SqsControl")
    app.conf.update(celery_config(settings))
    app.graphnode_settings = settings  # type: ignore[attr-defined]
    if worker:
        from graphnode.runtime import middleware, worker_ops

        middleware.install(app)
        # Settings first: a worker with a bad setting refuses to start before it waits for
        # (or provisions) its queues.
        refuse_to_start_with_bad_settings(app)
        worker_ops.install(app)
    return app
