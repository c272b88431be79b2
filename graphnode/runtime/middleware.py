"""The job lifecycle applied to Celery on SQS, kept out of the task bodies.

- ``EnvelopeTask`` (runs where the task runs): validates the envelope, reports progress of
  every request (best effort), turns a ``JobFailed`` or a soft time limit into a FAILED
  result message, and rejects a malformed message towards the DLQ.
- ``SqsRequest`` (the worker's main process, where the SQS message is known): after a
  failure, either hands the message back with a backoff (``lifecycle.retry_delay``) or, on
  its last receive before the DLQ, ends the job through the task's ``give_up``.
- ``VisibilityHeartbeat`` (the main process): stock Celery on SQS lets a task longer than
  the visibility timeout be delivered again and run twice; this keeps the messages a worker
  holds invisible for a few beats at a time, so a dead worker's jobs come back within
  seconds. On a warm shutdown (SIGTERM) only the messages not yet started go back at once;
  running ones keep their heartbeat until they finish or the hand-back deadline passes. On
  a cold shutdown (SIGQUIT) every message goes back at once.

The states, transitions and what each failure does are in ``graphnode.contract.lifecycle`` and in
the README's lifecycle table.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from typing import Any

from billiard.einfo import ExceptionWithTraceback
from celery import Celery, Task, signals
from celery.exceptions import Reject, SoftTimeLimitExceeded
from celery.worker import state as worker_state
from celery.worker.request import Request

from graphnode.aws import aws_client
from graphnode.contract.lifecycle import retry_delay, visibility_window_seconds
from graphnode.contract.messages import (
    PAYLOAD_MODELS,
    ContractError,
    FailureKind,
    JobStatus,
    Progress,
    TaskType,
    parse_envelope,
)
from graphnode.contract.payloads import PayloadMissing, PayloadStore, foreign_keys, result_key
from graphnode.contract.topology import QueueSpec, load_topology
from graphnode.runtime import logs, metrics
from graphnode.runtime.periodic import Periodic
from graphnode.runtime.sender import send_message
from graphnode.settings import CommonSettings

logger = logging.getLogger(__name__)


class JobFailed(Exception):
    """A permanent failure (bad input, say): retrying cannot help, so the job ends FAILED."""


def result_type_for(request_type: TaskType) -> TaskType:
    if not request_type.is_request:
        raise ValueError(f"{request_type} is not a request")
    return TaskType(request_type.value.removesuffix("_REQUEST") + "_RESULT")


def send_failure(app: Celery, request_type: TaskType, envelope: Any, error: str,
                 failure: FailureKind) -> bool:
    """Send the FAILED result of a request, from as much of its envelope as is readable."""
    if not isinstance(envelope, dict) or not isinstance(envelope.get("payload"), dict):
        return False
    result_type = result_type_for(request_type)
    model = PAYLOAD_MODELS[result_type]
    carried = {k: v for k, v in envelope["payload"].items() if k in model.model_fields}
    try:
        payload = model(**carried, status=JobStatus.FAILED, error=error[:4000], failure=failure)
        send_message(app, result_type, str(envelope.get("taskId")), payload)
    except (ValueError, ContractError) as exc:
        logger.error("cannot report failure of %s: %s", envelope.get("taskId"), exc)
        return False
    return True


class ProgressReporter:
    """``report(stage, fraction, message)`` for one run of a request: throttled, only
    forward, tagged with the attempt, and best effort: a progress message that cannot be
    sent is logged, never the end of the job."""

    def __init__(self, app: Celery, task_id: str, user_id: str, attempt: int,
                 task_type: str = "", *, interval: float) -> None:
        self.app = app
        self.interval = interval
        self.task_id = task_id
        self.user_id = user_id
        self.attempt = attempt
        self.task_type = task_type
        self._at = 0.0
        self._fraction = -1.0
        self._stage: tuple[str, float] | None = None

    def enter_stage(self, stage: str) -> None:
        """Time the pipeline's stages (every report, sent or throttled, names one)."""
        now = time.monotonic()
        if self._stage is not None and self._stage[0] == stage:
            return
        self.end_stage(now)
        self._stage = (stage, now)
        logs.bind(stage=stage)

    def end_stage(self, now: float | None = None) -> None:
        if self._stage is not None:
            stage, since = self._stage
            metrics.STAGE_DURATION.labels(self.task_type, stage).observe(
                (now or time.monotonic()) - since)
            self._stage = None

    def report(self, stage: str, fraction: float, message: str | None = None) -> None:
        self.enter_stage(stage[:64])
        now = time.monotonic()
        if fraction <= self._fraction:
            return
        if now - self._at < self.interval and fraction < 1.0:
            return
        self._at, self._fraction = now, fraction
        payload = Progress(userId=self.user_id, stage=stage[:64], progress=round(fraction, 4),
                           message=message[:500] if message else None, attempt=self.attempt)
        try:
            send_message(self.app, TaskType.GRAPH_GENERATION_PROGRESS, self.task_id, payload)
        except Exception as exc:
            logger.warning("progress of %s not sent (%s): the job goes on", self.task_id, exc)


def refuse_foreign_keys(task_type: TaskType, request: Any) -> None:
    """A request naming S3 objects outside its user's own fails at once: whoever sent it,
    the worker must not read another user's data into this user's graph."""
    foreign = foreign_keys(request.userId, request.claim_checks())
    if foreign:
        metrics.MESSAGES_REFUSED.labels(task_type.value, "foreign_key").inc()
        raise JobFailed(f"refused: the request names S3 keys that are not its user's own: "
                        f"{', '.join(foreign)}"[:1000])


#: A request's result as it was sent, kept beside its outputs: a redelivered request whose
#: earlier run got as far as sending it (its heartbeat came too late, its worker died
#: before the delete) sends that again instead of running a second time.
SENT_RESULT_NAME = "sent-result.json"


class EnvelopeTask(Task):
    """Base of every task: one positional argument, a contract envelope."""

    abstract = True
    Request = "graphnode.runtime.middleware:SqsRequest"

    def __call__(self, envelope: Any) -> Any:
        task_type = TaskType(self.name)
        try:
            parsed, payload = parse_envelope(envelope, expected=task_type)
        except ContractError as exc:
            logger.error("rejected malformed %s message: %s", task_type, exc)
            metrics.MESSAGES_REFUSED.labels(task_type.value, "malformed").inc()
            if task_type.is_request:
                send_failure(self.app, task_type, envelope, f"malformed request: {exc}",
                             FailureKind.INPUT)
            # Not acknowledged: after maxReceiveCount it lands in the DLQ for inspection.
            raise Reject(str(exc), requeue=False) from None
        with logs.log_context(taskId=parsed.taskId, taskType=task_type.value,
                              userId=getattr(payload, "userId", None)):
            return self._run_envelope(task_type, envelope, parsed, payload)

    def _run_envelope(self, task_type: TaskType, envelope: Any, parsed: Any,
                      payload: Any) -> Any:
        attempt = int(getattr(self.request, "receive_count", None) or 1)
        if task_type.is_request and attempt > 1 and self._send_earlier_result(
                task_type, parsed.taskId, payload.userId):
            logger.warning("%s %s (receive %d): an earlier run sent its result; sent it "
                           "again, not run a second time", task_type, parsed.taskId, attempt)
            metrics.RUNS_AVOIDED.labels(task_type.value).inc()
            return None
        logger.info("running %s %s (receive %d)", task_type, parsed.taskId, attempt)
        if task_type.is_request:
            self.request.progress = ProgressReporter(
                self.app, parsed.taskId, payload.userId, attempt, task_type.value,
                interval=self.app.graphnode_settings.progress_interval_seconds)
            self.progress("started", 0.01)
        try:
            if task_type.is_request:
                refuse_foreign_keys(task_type, payload)
            return self.run(parsed, payload)
        except JobFailed as exc:
            logger.warning("%s %s failed: %s", task_type, parsed.taskId, exc)
            send_failure(self.app, task_type, envelope, str(exc), FailureKind.INPUT)
        except SoftTimeLimitExceeded:
            error = f"the task ran past its time limit of {self.soft_time_limit_seconds()} s"
            logger.warning("%s %s failed: %s", task_type, parsed.taskId, error)
            send_failure(self.app, task_type, envelope, error, FailureKind.TIME_LIMIT)
        finally:
            reporter = getattr(self.request, "progress", None)
            if reporter is not None:
                reporter.end_stage()
        return None

    def soft_time_limit_seconds(self) -> Any:
        return self.soft_time_limit or self.app.conf.task_soft_time_limit

    def progress(self, stage: str, fraction: float, message: str | None = None) -> None:
        """Report the running request's progress (nothing for other tasks)."""
        reporter = getattr(self.request, "progress", None)
        if reporter is not None:
            reporter.report(stage, fraction, message)

    def send(self, task_type: TaskType, task_id: str, payload: Any) -> None:
        """Send a message; a request's own result is first kept (``SENT_RESULT_NAME``)."""
        if TaskType(self.name).is_request and task_type == result_type_for(TaskType(self.name)):
            self._payloads().put_json(result_key(payload.userId, task_id, SENT_RESULT_NAME),
                                      payload.model_dump(mode="json"))
        send_message(self.app, task_type, task_id, payload)

    def _send_earlier_result(self, task_type: TaskType, task_id: str, user_id: str) -> bool:
        """Send the result an earlier run of this request kept, if there is one."""
        result_type = result_type_for(task_type)
        try:
            kept = self._payloads().get_json(result_key(user_id, task_id, SENT_RESULT_NAME))
        except PayloadMissing:
            return False
        send_message(self.app, result_type, task_id, PAYLOAD_MODELS[result_type](**kept))
        return True

    def _payloads(self) -> PayloadStore:
        store = getattr(self.app, "graphnode_payloads", None)
        if store is None:
            store = PayloadStore(self.app.graphnode_settings)
            self.app.graphnode_payloads = store  # type: ignore[attr-defined]
        return store

    def give_up(self, envelope: Any, error: str) -> None:
        """The last receive before the DLQ failed: end the job. Requests send their FAILED
        result; result handlers override this to record the failure themselves; anything
        else (a progress message) only waits in the DLQ."""
        if TaskType(self.name).is_request:
            send_failure(self.app, TaskType(self.name), envelope, error, FailureKind.GAVE_UP)


class SqsRequest(Request):
    """A Celery request that knows its SQS delivery (receive count, receipt handle)."""

    def __init__(self, message: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(message, *args, **kwargs)
        # The task runs in a pool process, which only sees this dict: tell it the attempt.
        self._request_dict["receive_count"] = self.receive_count
        self.settled = False  # set once the outcome is decided; the heartbeat lets go

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

    def on_success(self, failed__retval__runtime: Any, **kwargs: Any) -> Any:
        self.settled = True
        return super().on_success(failed__retval__runtime, **kwargs)

    def on_failure(self, exc_info: Any, send_failed_event: bool = True,
                   return_ok: bool = False) -> Any:
        self.settled = True
        task_type = TaskType(self.task.name)
        exc = exc_info.exception
        if isinstance(exc, ExceptionWithTraceback):  # as it arrives from a prefork child
            exc = exc.exc
        limit = _max_receive_count(self.task.app, self.delivery_info.get("routing_key"))
        if self.receive_count >= limit:
            # A rejected (malformed) message already reported what it could; any other
            # failure on the last receive, a lost worker included, is the job's end.
            if not isinstance(exc, Reject):
                error = f"gave up after {self.receive_count} attempts: {exc!r}"
                metrics.GIVE_UPS.labels(task_type.value).inc()
                logger.error("%s %s %s; the message goes to the DLQ", task_type, self.id, error)
                try:
                    self.task.give_up(self.args[0] if self.args else None, error)
                except Exception:  # the message still goes to the DLQ, to be re-driven
                    logger.exception("could not end the job of %s", self.id)
            return super().on_failure(exc_info, send_failed_event, return_ok)
        outcome = super().on_failure(exc_info, send_failed_event, return_ok)
        settings: CommonSettings = self.task.app.graphnode_settings
        delay = retry_delay(self.receive_count, settings.retry_backoff_seconds,
                            settings.retry_backoff_max_seconds)
        heartbeat: VisibilityHeartbeat | None = getattr(self.task.app, "graphnode_heartbeat", None)
        if heartbeat is not None:
            heartbeat.set_visibility(self, delay)
        logger.warning("%s %s failed on receive %d (%r); next receive in %d s",
                       task_type, self.id, self.receive_count, exc, delay)
        return outcome


def _queue_spec(app: Celery, queue: str | None) -> QueueSpec | None:
    """The declared topology of the queue a worker consumes (by its configured name)."""
    settings: CommonSettings = app.graphnode_settings
    declared = {settings.request_queue: "graph-req", settings.result_queue: "graph-res"}
    return load_topology().queues.get(declared.get(queue or "", ""))


def _max_receive_count(app: Celery, queue: str | None) -> int:
    spec = _queue_spec(app, queue)
    return spec.max_receive_count if spec else 5


#: SQS answers these when a receipt handle no longer holds the message (it was deleted or
#: handed back): nothing to extend, nothing to warn about.
STALE_RECEIPT_CODES = frozenset({"ReceiptHandleIsInvalid", "MessageNotInflight",
                                 "AWS.SimpleQueueService.MessageNotInflight"})


class VisibilityHeartbeat:
    """Extends the visibility of the messages this worker holds; a daemon thread."""

    def __init__(self, settings: CommonSettings, interval: float,
                 extend_to: int | None = None) -> None:
        self.settings = settings
        self.interval = interval
        self.extend_to = extend_to or visibility_window_seconds(interval)
        self.shutting_down = False
        self._thread = Periodic("sqs-visibility-heartbeat", interval, self.beat)
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws_client("sqs", self.settings)
        return self._client

    def start(self) -> None:
        self._thread.start()

    def held(self) -> set[Any]:
        """Messages held and not settled: running ones, and, unless the worker is shutting
        down, the ones reserved for later."""
        requests = set(worker_state.active_requests)
        if not self.shutting_down:
            requests |= set(worker_state.reserved_requests)
        return {r for r in requests if not getattr(r, "settled", False) and not r.acknowledged}

    def beat(self) -> int:
        extended = sum(self.set_visibility(request, self.extend_to) for request in self.held())
        metrics.VISIBILITY_HEARTBEATS.inc(extended)
        return extended

    def on_warm_shutdown(self) -> int:
        """Hand back the messages not started; running ones keep beating."""
        self.shutting_down = True
        reserved = set(worker_state.reserved_requests) - set(worker_state.active_requests)
        return sum(self.set_visibility(request, 0) for request in reserved)

    def release_all(self) -> int:
        """Stop beating and hand back every unfinished message at once."""
        self.shutting_down = True
        self._thread.stop()
        requests = set(worker_state.active_requests) | set(worker_state.reserved_requests)
        return sum(self.set_visibility(request, 0) for request in requests
                   if not request.acknowledged)

    def set_visibility(self, request: Any, timeout: int) -> bool:
        receipt = getattr(request, "receipt", None)
        if receipt is None:
            return False
        try:
            self.client.change_message_visibility(
                QueueUrl=receipt[0], ReceiptHandle=receipt[1], VisibilityTimeout=timeout
            )
            return True
        except Exception as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
            if code in STALE_RECEIPT_CODES or (
                    code == "InvalidParameterValue" and "ReceiptHandle" in str(exc)):
                logger.debug("visibility of %s not changed: %s", request.id, exc)
            else:  # IAM, endpoint or throttling: running messages may reappear
                logger.warning("visibility of %s not changed: %s", request.id, exc)
            return False


def install(app: Celery) -> None:
    """Start the heartbeat in each worker's main process and apply the shutdown rules.
    (A message's first window is set at its receive, by the transport.)"""
    settings: CommonSettings = app.graphnode_settings
    heartbeat = VisibilityHeartbeat(settings, settings.visibility_heartbeat_seconds)
    app.graphnode_heartbeat = heartbeat  # type: ignore[attr-defined]

    @signals.worker_ready.connect(weak=False)
    def _start_heartbeat(sender: Any = None, **_: Any) -> None:
        heartbeat.start()

    @signals.worker_shutting_down.connect(weak=False)
    def _shutdown(sig: str = "", how: str = "", **_: Any) -> None:
        if how == "Cold":
            released = heartbeat.release_all()
            logger.warning("%s (cold shutdown): handed back %d messages", sig, released)
            return
        if heartbeat.shutting_down:  # a repeated SIGTERM: Celery ignores it, and so do we
            return
        released = heartbeat.on_warm_shutdown()
        logger.warning("%s (warm shutdown): handed back %d messages not started; running "
                       "tasks may finish within %.0f s", sig, released,
                       settings.shutdown_handback_seconds)
        timer = threading.Timer(settings.shutdown_handback_seconds, _hand_back_running)
        timer.daemon = True
        timer.start()

    def _hand_back_running() -> None:
        """The warm shutdown ran out of time: hand the running messages back and shut
        down cold, before the orchestrator kills the worker."""
        released = heartbeat.release_all()
        logger.warning("warm shutdown deadline: handed back %d running messages; "
                       "shutting down cold", released)
        os.kill(os.getpid(), signal.SIGQUIT)
