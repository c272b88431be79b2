"""Cross-cutting behaviour of every GraphNode task, kept out of the task bodies.

- ``EnvelopeTask``: validates the envelope before the task body runs, turns a
  ``JobFailed`` into a FAILED result message, and gives tasks ``send`` and ``progress``.
- ``SqsRequest``: runs in the worker's main process, where the SQS message is known;
  when a task fails on its last delivery before the DLQ, it calls the task's ``give_up``,
  so every accepted job ends COMPLETED or FAILED.
- ``VisibilityHeartbeat``: stock Celery on SQS lets a task longer than the visibility
  timeout be delivered again and run twice; this extends the visibility of in-flight
  messages while they run and, on SIGTERM (spot interruption), hands unfinished messages
  back at once.
"""

from __future__ import annotations

import logging
import math
import threading
from typing import Any

from billiard.einfo import ExceptionWithTraceback
from celery import Celery, Task, signals
from celery.exceptions import Reject
from celery.worker import state as worker_state
from celery.worker.request import Request

from graphnode.aws import aws_client
from graphnode.contract import (
    PAYLOAD_MODELS,
    ContractError,
    JobStatus,
    TaskType,
    make_envelope,
    parse_envelope,
)
from graphnode.settings import CommonSettings
from graphnode.topology import load_topology

logger = logging.getLogger(__name__)


class JobFailed(Exception):
    """A permanent failure (bad input, say): retrying cannot help, so the job ends FAILED."""


def send_message(app: Celery, task_type: TaskType, task_id: str, payload: Any) -> None:
    """Send one contract message; the route (graph-req or graph-res) follows the task type."""
    app.send_task(task_type.value, args=[make_envelope(task_type, task_id, payload)])


def result_type_for(request_type: TaskType) -> TaskType:
    if not request_type.is_request:
        raise ValueError(f"{request_type} is not a request")
    return TaskType(request_type.value.removesuffix("_REQUEST") + "_RESULT")


def send_failure(app: Celery, request_type: TaskType, envelope: Any, error: str) -> bool:
    """Send the FAILED result of a request, from as much of its envelope as is readable."""
    if not isinstance(envelope, dict) or not isinstance(envelope.get("payload"), dict):
        return False
    result_type = result_type_for(request_type)
    model = PAYLOAD_MODELS[result_type]
    carried = {k: v for k, v in envelope["payload"].items() if k in model.model_fields}
    try:
        payload = model(**carried, status=JobStatus.FAILED, error=error[:4000])
        send_message(app, result_type, str(envelope.get("taskId")), payload)
    except (ValueError, ContractError) as exc:
        logger.error("cannot report failure of %s: %s", envelope.get("taskId"), exc)
        return False
    return True


class EnvelopeTask(Task):
    """Base of every task: one positional argument, a contract envelope."""

    abstract = True
    Request = "graphnode.middleware:SqsRequest"

    def __call__(self, envelope: Any) -> Any:
        task_type = TaskType(self.name)
        try:
            parsed, payload = parse_envelope(envelope, expected=task_type)
        except ContractError as exc:
            logger.error("rejected malformed %s message: %s", task_type, exc)
            if task_type.is_request:
                send_failure(self.app, task_type, envelope, f"malformed request: {exc}")
            # Not acknowledged: after maxReceiveCount it lands in the DLQ for inspection.
            raise Reject(str(exc), requeue=False) from None
        logger.info("running %s %s", task_type, parsed.taskId)
        try:
            return self.run(parsed, payload)
        except JobFailed as exc:
            logger.warning("%s %s failed: %s", task_type, parsed.taskId, exc)
            send_failure(self.app, task_type, envelope, str(exc))
            return None

    def send(self, task_type: TaskType, task_id: str, payload: Any) -> None:
        send_message(self.app, task_type, task_id, payload)

    def give_up(self, envelope: Any, error: str) -> None:
        """The last receive before the DLQ failed: end the job. Requests send their FAILED
        result; result handlers override this to record the failure themselves; anything
        else (a progress message) only waits in the DLQ."""
        if TaskType(self.name).is_request:
            send_failure(self.app, TaskType(self.name), envelope, error)


class SqsRequest(Request):
    """A Celery request that knows its SQS delivery (receive count, receipt handle)."""

    @property
    def receive_count(self) -> int:
        sqs_message = self.message.delivery_info.get("sqs_message") or {}
        return int(sqs_message.get("Attributes", {}).get("ApproximateReceiveCount", 1))

    @property
    def receipt(self) -> tuple[str, str] | None:
        info = self.message.delivery_info
        if "sqs_message" not in info:
            return None
        return info["sqs_queue"], info["sqs_message"]["ReceiptHandle"]

    def on_failure(self, exc_info: Any, send_failed_event: bool = True,
                   return_ok: bool = False) -> Any:
        task_type = TaskType(self.task.name)
        exc = exc_info.exception
        if isinstance(exc, ExceptionWithTraceback):  # as it arrives from a prefork child
            exc = exc.exc
        limit = _max_receive_count(self.task.app, self.delivery_info.get("routing_key"))
        # A rejected (malformed) message already reported what it could; any other failure
        # on the last receive, a lost worker included, is the job's end.
        if self.receive_count >= limit and not isinstance(exc, Reject):
            error = f"gave up after {self.receive_count} attempts: {exc!r}"
            logger.error("%s %s %s; the message goes to the DLQ", task_type, self.id, error)
            try:
                self.task.give_up(self.args[0] if self.args else None, error)
            except Exception:  # the message still goes to the DLQ, where it can be re-driven
                logger.exception("could not end the job of %s", self.id)
        return super().on_failure(exc_info, send_failed_event, return_ok)


def _max_receive_count(app: Celery, queue: str | None) -> int:
    settings: CommonSettings = app.graphnode_settings
    declared = {settings.request_queue: "graph-req", settings.result_queue: "graph-res"}
    spec = load_topology().queues.get(declared.get(queue or "", ""))
    return spec.max_receive_count if spec else 5


#: A running message is kept invisible for this many heartbeat intervals. Short, so that a
#: message whose worker died, or whose task failed just after a beat, is redelivered soon.
BEATS_OF_VISIBILITY = 3


class VisibilityHeartbeat:
    """Extends the visibility of the messages this worker is running; a daemon thread."""

    def __init__(self, settings: CommonSettings, interval: float,
                 extend_to: int | None = None) -> None:
        self.settings = settings
        self.interval = interval
        self.extend_to = extend_to or max(1, math.ceil(BEATS_OF_VISIBILITY * interval))
        self._stop = threading.Event()
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws_client("sqs", self.settings)
        return self._client

    def start(self) -> None:
        threading.Thread(target=self._run, name="sqs-visibility-heartbeat", daemon=True).start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.beat()

    def beat(self) -> int:
        return self._change(worker_state.active_requests, self.extend_to)

    def release_all(self) -> int:
        """Make unfinished messages visible again at once, for another worker to take."""
        self._stop.set()
        requests = set(worker_state.active_requests) | set(worker_state.reserved_requests)
        return self._change(requests, 0)

    def _change(self, requests: Any, timeout: int) -> int:
        changed = 0
        for request in list(requests):
            receipt = getattr(request, "receipt", None)
            if receipt is None or request.acknowledged:
                continue
            try:
                self.client.change_message_visibility(
                    QueueUrl=receipt[0], ReceiptHandle=receipt[1], VisibilityTimeout=timeout
                )
                changed += 1
            except Exception as exc:  # an acknowledged message's handle is no longer valid
                logger.debug("visibility change skipped for %s: %s", request.id, exc)
        return changed


def install(app: Celery) -> None:
    """Start the heartbeat in each worker's main process and release messages on shutdown."""
    settings: CommonSettings = app.graphnode_settings
    heartbeat = VisibilityHeartbeat(settings, settings.visibility_heartbeat_seconds)

    @signals.worker_ready.connect(weak=False)
    def _start_heartbeat(sender: Any = None, **_: Any) -> None:
        heartbeat.start()

    @signals.worker_shutting_down.connect(weak=False)
    def _release(sig: str = "", how: str = "", **_: Any) -> None:
        released = heartbeat.release_all()
        logger.warning("%s (%s shutdown): released %d unfinished messages", sig, how, released)
