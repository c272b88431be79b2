"""The lifecycle rules (pure) and what the middleware does with them around a message."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
from botocore.exceptions import ClientError

from graphnode.contract.lifecycle import final_event, may_end, retry_delay, workspace_event
from graphnode.contract.messages import FailureKind, JobStatus, TaskType
from graphnode.runtime.middleware import ProgressReporter, VisibilityHeartbeat
from graphnode.settings import CommonSettings
from graphnode.stores import Job

COMPLETED, FAILED, PENDING, RUNNING = (JobStatus.COMPLETED, JobStatus.FAILED,
                                       JobStatus.PENDING, JobStatus.RUNNING)


@pytest.mark.parametrize(("status", "failure", "new", "allowed"), [
    (PENDING, None, COMPLETED, True),
    (RUNNING, None, FAILED, True),
    (COMPLETED, None, COMPLETED, False),   # a redelivered result changes nothing
    (COMPLETED, None, FAILED, False),
    (FAILED, FailureKind.INPUT, COMPLETED, False),
    (FAILED, FailureKind.GAVE_UP, COMPLETED, False),
    (FAILED, FailureKind.RESULT_NOT_STORED, COMPLETED, True),  # the redrive revives it
    (FAILED, FailureKind.RESULT_NOT_STORED, FAILED, False),
    (FAILED, FailureKind.LOST, COMPLETED, True),  # its result came after the deadline
    (FAILED, FailureKind.LOST, FAILED, False),
])
def test_a_job_ends_once_unless_only_its_storing_failed(status, failure, new, allowed):
    assert may_end(status, failure, new) is allowed


def test_retry_delay_doubles_per_receive_up_to_the_maximum():
    assert [retry_delay(n, 5, 300) for n in range(1, 9)] == [5, 10, 20, 40, 80, 160, 300, 300]
    assert retry_delay(1, 0.2, 300) == 1  # SQS counts whole seconds


def test_events_name_what_the_job_produced():
    job = Job(taskId="d1", userId="u", taskType=TaskType.MICROSCOPE_INGEST_REQUEST,
              scope="ws", status=COMPLETED)
    event = final_event(job)
    assert (event.eventId, event.type) == ("d1:COMPLETED", "completed")
    assert event.data["workspaceUrl"] == "/v1/workspaces/ws" and event.data["documentId"] == "d1"
    pending = job.model_copy(update={"taskId": "d2", "status": RUNNING})
    assert workspace_event("u", "ws", [job, pending]) is None
    done = workspace_event("u", "ws", [job, pending.model_copy(update={"status": FAILED})])
    assert done.eventId == "workspace:ws:2" and done.data["failed"] == 1


class FakeSqs:
    def __init__(self, error_code=None):
        self.error_code = error_code
        self.calls = []

    def change_message_visibility(self, **kwargs):
        self.calls.append(kwargs)
        if self.error_code:
            raise ClientError({"Error": {"Code": self.error_code, "Message": "no"}},
                              "ChangeMessageVisibility")


def heartbeat_with(sqs):
    heartbeat = VisibilityHeartbeat(CommonSettings(), interval=1)
    heartbeat._client = sqs
    return heartbeat


class HeldMessage:
    """What the heartbeat reads of a Celery request."""

    def __init__(self, name):
        self.id = name
        self.receipt = ("url", f"h-{name}")
        self.acknowledged = False


REQUEST = HeldMessage("r1")


def test_heartbeat_warns_when_it_cannot_extend(caplog):
    caplog.set_level(logging.DEBUG, "graphnode.runtime.middleware")
    assert not heartbeat_with(FakeSqs("AccessDenied")).set_visibility(REQUEST, 3)
    assert [r.levelno for r in caplog.records] == [logging.WARNING]


def test_heartbeat_is_quiet_about_a_message_already_gone(caplog):
    caplog.set_level(logging.DEBUG, "graphnode.runtime.middleware")
    assert not heartbeat_with(FakeSqs("ReceiptHandleIsInvalid")).set_visibility(REQUEST, 3)
    assert [r.levelno for r in caplog.records] == [logging.DEBUG]


def test_warm_shutdown_hands_back_only_messages_not_started(monkeypatch):
    from celery.worker import state

    running, waiting = HeldMessage("run"), HeldMessage("wait")
    monkeypatch.setattr(state, "active_requests", {running})
    monkeypatch.setattr(state, "reserved_requests", {running, waiting})
    sqs = FakeSqs()
    heartbeat = heartbeat_with(sqs)
    assert heartbeat.on_warm_shutdown() == 1
    assert sqs.calls == [{"QueueUrl": "url", "ReceiptHandle": "h-wait", "VisibilityTimeout": 0}]
    sqs.calls.clear()
    assert heartbeat.beat() == 1  # the running one keeps its heartbeat
    assert sqs.calls[0]["ReceiptHandle"] == "h-run" and sqs.calls[0]["VisibilityTimeout"] == 3
    sqs.calls.clear()
    assert heartbeat.release_all() == 2  # cold: everything goes back
    assert {c["VisibilityTimeout"] for c in sqs.calls} == {0}


def test_a_progress_message_that_cannot_be_sent_does_not_end_the_job(caplog):
    def unreachable(*args, **kwargs):
        raise ConnectionError("SQS unreachable")

    reporter = ProgressReporter(SimpleNamespace(send_task=unreachable), "t1", "alice", 2,
                                interval=0.5)
    reporter.report("embedding", 0.5)  # no exception
    assert "progress of t1 not sent" in caplog.text


def test_progress_is_throttled_and_only_forward():
    sent = []
    app = SimpleNamespace(send_task=lambda name, args, **_: sent.append(args[0]["payload"]))
    reporter = ProgressReporter(app, "t1", "alice", attempt=3, interval=0.5)
    for fraction in (0.1, 0.2, 0.05, 1.0):
        reporter.report("stage", fraction)
    assert [(p["progress"], p["attempt"]) for p in sent] == [(0.1, 3), (1.0, 3)]


def test_the_readme_prints_every_transition_and_no_other():
    from pathlib import Path

    from graphnode.contract.lifecycle import TRANSITIONS

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    rows = {line for line in readme.splitlines()
            if line.startswith(("| `PENDING` | `", "| `RUNNING` | `", "| `COMPLETED` | `",
                                "| `FAILED` | `"))}
    assert rows == {f"| `{a.value}` | `{b.value}` | {why} |" for a, b, why in TRANSITIONS}
