"""The real local stack, started once for the integration tests: the moto server speaking
the AWS wire protocol, redis-server, gunicorn with gevent, and Celery worker processes."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest
import requests

from graphnode.contract.messages import JobStatus
from graphnode.ops.devstack import DevStack, free_port
from graphnode.settings import ApiSettings, CommonSettings

#: The request queue's visibility timeout during the tests: far shorter than any graph job,
#: so a job that ran without the visibility heartbeat would be delivered twice.
SHORT_VISIBILITY_SECONDS = 2
#: The per-user limits of the shared test stacks: far above what a test submits (the fault
#: stack's burst sends 15 jobs per user at once, the fuzzer hundreds as one user whose jobs
#: never end), so every submission is checked and none refused; test_submission_limits
#: starts a replica of its own with low ones.
GENEROUS_LIMITS = {"GRAPHNODE_MAX_JOBS_IN_FLIGHT": "10000",
                   "GRAPHNODE_MAX_SUBMISSIONS_PER_MINUTE": "10000"}


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    dev = DevStack(
        tmp_path_factory.mktemp("stack"),
        ports={"aws": free_port(), "redis": free_port(), "api": free_port()},
        queue_prefix="it-",
    )
    dev.env["GRAPHNODE_VISIBILITY_HEARTBEAT_SECONDS"] = "0.5"
    dev.env.update(GENEROUS_LIMITS)
    # Every progress report is sent, however fast the job: the SSE test counts them.
    dev.env["GRAPHNODE_PROGRESS_INTERVAL_SECONDS"] = "0"
    # A failed message comes back after 1, 1, 2, 4 s (not 5 … 40 s): five receives in seconds.
    dev.env["GRAPHNODE_RETRY_BACKOFF_SECONDS"] = "0.5"
    try:
        dev.start_backing_services()
        sqs = aws(dev, "sqs")
        sqs.set_queue_attributes(
            QueueUrl=sqs.get_queue_url(QueueName="it-graph-req")["QueueUrl"],
            Attributes={"VisibilityTimeout": str(SHORT_VISIBILITY_SECONDS)},
        )
        dev.start_worker("req", concurrency=1)
        dev.start_worker("res", concurrency=2)
        dev.start_api()
        yield dev
    finally:
        dev.stop()


def stack_settings(dev: DevStack) -> CommonSettings:
    return CommonSettings(
        aws_endpoint_url=dev.env["GRAPHNODE_AWS_ENDPOINT_URL"],
        request_queue=dev.env["GRAPHNODE_REQUEST_QUEUE"],
        result_queue=dev.env["GRAPHNODE_RESULT_QUEUE"],
    )


def aws(dev: DevStack, service: str):
    from graphnode.aws import aws_client

    return aws_client(service, stack_settings(dev))


@pytest.fixture(scope="session")
def api_settings(stack):
    return ApiSettings(jwt_secret=stack.env["GRAPHNODE_JWT_SECRET"],
                       store_url=stack.env["GRAPHNODE_STORE_URL"])


@pytest.fixture(scope="session")
def celery_sender(stack):
    """A Celery app of the test process, to put raw messages on the stack's queues."""
    from graphnode.runtime.celery_app import create_celery_app

    return create_celery_app(stack_settings(stack), worker=False)


def client_for(stack, api_settings, user_id):
    from graphnode.contract.tokens import mint_token
    from graphnode.ops.client import ApiClient

    return ApiClient(stack.api_url, mint_token(api_settings, user_id))


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one Prometheus sample, by name and (a subset of) its labels."""
    total = 0.0
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}(?:\{{(.*)\}})? (\S+)", line)
        if not match:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(match.group(2))
    return total


def count_in_log(path: Path, pattern: str) -> int:
    return len(re.findall(pattern, path.read_text(errors="replace")))


def wait_for(predicate, timeout: float, what: str, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def wait_for_job_end(client, task_id: str, timeout: float, interval: float = 0.5) -> dict:
    """The job as the API shows it once it is COMPLETED or FAILED."""
    def ended():
        job = client.job(task_id)
        return job if JobStatus(job["status"]).is_final else None

    return wait_for(ended, timeout, f"job {task_id} to end", interval=interval)


class EventCollector:
    """Reads a user's SSE stream in a thread, so that events are captured as they happen."""

    def __init__(self, client, last_event_id=None):
        self.events = []
        self.connected = threading.Event()
        self._client = client
        self._last = last_event_id
        threading.Thread(target=self._run, daemon=True).start()
        assert self.connected.wait(10), "SSE stream did not open"

    def _run(self):
        try:
            for event in self._client.events(self._last, read_timeout=300,
                                             on_open=self.connected.set):
                self.events.append(event)
        except requests.RequestException:
            pass  # the stack stopped at the end of the session

    def wait_for_type(self, event_type, timeout=150):
        return wait_for(lambda: next((e for e in self.events if e.type == event_type), None),
                        timeout, f"a {event_type} event")

    def wait_for(self, event_type, task_id, timeout=150):
        return wait_for(
            lambda: next((e for e in self.events if e.type == event_type
                          and e.data.get("taskId") == task_id), None),
            timeout, f"{event_type} event of {task_id}")


@pytest.fixture(scope="session")
def completed_job(stack, api_settings):
    """The sample export, generated once for alice while bob listens on his own channel."""
    from graphnode.samples import load_sample_export

    alice = client_for(stack, api_settings, "alice")
    alice_events = EventCollector(alice)
    bob_events = EventCollector(client_for(stack, api_settings, "bob"))
    accepted = alice.generate(load_sample_export())
    completed = alice_events.wait_for("completed", accepted["taskId"])
    return {"alice": alice, "accepted": accepted, "completed": completed,
            "alice_events": alice_events, "bob_events": bob_events}
