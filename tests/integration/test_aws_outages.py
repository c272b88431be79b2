"""AWS gone, failing or slow under a running stack: the emulator killed mid-job and started
again empty; SQS answering 503 or throttling for a while; S3 holding requests while the
API stores an input and while the GPU worker writes its outputs; a torn S3 read.

Every process of this stack reaches the emulator through ``tests/support/fault_proxy.py``,
which fails or holds the calls a trial names. What must hold in each trial: every job
accepted (answered 202) ends COMPLETED, or FAILED with a reason, never PENDING or RUNNING
for ever; each has one effect (one stored graph); a submit that could not be accepted is
answered with a JSON 503 and nothing of it is recorded as accepted; the workers, never
restarted, take new work afterwards.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest
import requests

from graphnode.samples import load_sample_export
from tests.integration.conftest import wait_for
from tests.integration.faults import (
    FaultStack,
    new_user,
    report,
    tiny_export,
    wait_embedding,
)
from tests.support.fault_proxy import Fault

pytestmark = pytest.mark.integration

#: The job deadline of this stack: a job unchanged this long ends FAILED (lost); longer
#: than any stall of the other trials (S3 holds a write 30 s), whose jobs must complete.
DEADLINE_SECONDS = 60
#: How long the emulator stays away.
EMULATOR_AWAY_SECONDS = 5
#: How long S3 holds a request in the stall trials (the issue's 30 s).
S3_STALL_SECONDS = 30
#: The API's S3 timeout on this stack: shorter than the stall, so the API gives up first.
API_PAYLOAD_TIMEOUT_SECONDS = 5


@pytest.fixture(scope="module")
def aws(tmp_path_factory):
    stack = FaultStack.start(
        tmp_path_factory.mktemp("aws-outage-stack"), proxy=True,
        env={"GRAPHNODE_JOB_DEADLINE_SECONDS": str(DEADLINE_SECONDS),
             "GRAPHNODE_PAYLOAD_TIMEOUT_SECONDS": str(API_PAYLOAD_TIMEOUT_SECONDS)})
    try:
        yield stack
    finally:
        stack.stop_all()


@pytest.fixture(autouse=True)
def healthy(aws):
    aws.proxy.clear()
    aws.proxy.injected.clear()
    aws.restore_baseline()
    aws.empty_dlqs()


def submit(client, tag: str, export: list | None = None) -> requests.Response:
    """A submit as any HTTP client makes it, answered 202 or refused with a JSON body."""
    return requests.post(f"{client.base_url}/v1/graphs/generate", json=export or tiny_export(tag),
                         headers=client.session.headers, timeout=120)


def accepted_id(client, tag: str) -> str | None:
    response = submit(client, tag)
    return response.json()["taskId"] if response.status_code == 202 else None


def assert_each_once(aws: FaultStack, finals: dict[str, str]) -> None:
    """One stored graph per COMPLETED job; FAILED ones only with a reason."""
    for task_id, status in finals.items():
        job = aws.job(task_id)
        if status == "COMPLETED":
            assert aws.result_rows(task_id) == 1, task_id
        else:
            assert job["failure"] and job["error"], job


def test_the_emulator_restarted_empty_mid_job(aws, record_property):
    """Queues, bucket and messages gone: the running job's result, or the deadline, ends
    each accepted job; the workers provision what vanished and take new work."""
    user = new_user("restarted")
    events = aws.listen(user)
    client = aws.client(user)
    running = client.generate(load_sample_export())["taskId"]
    wait_embedding(events, running)
    waiting = [client.generate(tiny_export(f"waiting-{n}"))["taskId"] for n in range(3)]

    aws.dev.processes["aws"].kill()
    aws.dev.processes["aws"].wait(10)
    gone_at = time.monotonic()
    ready = requests.get(f"{aws.dev.api_url}/readyz", timeout=30)
    assert ready.status_code == 503
    assert {"queue", "bucket"} <= set(ready.json()["failing"]), ready.json()
    status = subprocess.run([sys.executable, "-m", "graphnode.ops.cli", "status"], env=aws.dev.env,
                            capture_output=True, text=True, timeout=120)
    assert status.returncode == 1, status.stdout
    assert f"unavailable: queue {aws.request_queue}" in status.stderr, status.stderr
    refused = submit(client, "while-away")
    assert refused.status_code == 503 and refused.json()["error"]["code"], refused.text
    time.sleep(max(0.0, EMULATOR_AWAY_SECONDS - (time.monotonic() - gone_at)))

    aws.dev.start_emulator()  # empty: no queues, no bucket, no messages
    back_at = time.monotonic()
    accepted = [running, *waiting]
    finals = aws.wait_final(accepted, DEADLINE_SECONDS + 120)
    ended_at = time.monotonic()
    after = wait_for(lambda: accepted_id(client, "after"), 60, "a submit accepted again")
    assert aws.wait_final([after], 120) == {after: "COMPLETED"}
    recovered_at = time.monotonic()

    assert_each_once(aws, finals)
    for task_id, status in finals.items():
        if status == "FAILED":
            assert aws.job(task_id)["failure"] == "lost", aws.job(task_id)
        events.wait_for("completed" if status == "COMPLETED" else "failed", task_id)
    assert all(aws.alive(name) for name in ("worker-req", "worker-res"))
    report(record_property, "emulator restarted empty", jobs=len(accepted),
           completed=sum(s == "COMPLETED" for s in finals.values()),
           failed_lost=sum(s == "FAILED" for s in finals.values()), lost=0,
           duplicate_effects=0, away_seconds=round(back_at - gone_at, 1),
           back_to_all_ended_seconds=round(ended_at - back_at, 1),
           back_to_new_job_completed_seconds=round(recovered_at - back_at, 1))


def sqs_failing_trial(aws: FaultStack, record_property, seconds: float,
                      fault: Fault, name: str) -> None:
    user = new_user("sqs-failing")
    client = aws.client(user)
    before = [client.generate(tiny_export(f"before-{n}"))["taskId"] for n in range(3)]
    aws.proxy.add(fault)
    started = time.monotonic()
    during, refused = [], []
    while time.monotonic() - started < seconds:
        response = submit(client, f"during-{len(during) + len(refused)}")
        if response.status_code == 202:
            during.append(response.json()["taskId"])
        else:
            assert response.status_code == 503, response.text
            refused.append(response.json()["error"]["code"])
        time.sleep(1)
    aws.proxy.remove(fault)
    healed_at = time.monotonic()
    accepted = before + during
    finals = aws.wait_final(accepted, 240)
    recovered_at = time.monotonic()
    after = wait_for(lambda: accepted_id(client, "after"), 60, "a submit accepted again")
    assert aws.wait_final([after], 120) == {after: "COMPLETED"}

    assert set(finals.values()) == {"COMPLETED"}, finals
    assert_each_once(aws, finals)
    assert refused and set(refused) == {"queue_unavailable"}, refused
    assert aws.dead_letters(aws.request_queue) == []
    assert aws.dead_letters(aws.result_queue) == []
    assert all(aws.alive(name) for name in ("worker-req", "worker-res"))
    report(record_property, name, jobs=len(accepted), completed=len(accepted), failed=0,
           refused_503=len(refused), lost=0, duplicate_effects=0,
           calls_failed=aws.proxy.injected["sqs"],
           healed_to_all_completed_seconds=round(recovered_at - healed_at, 1))


def test_sqs_answering_503_for_a_while(aws, record_property):
    sqs_failing_trial(aws, record_property, 15, Fault("sqs", status=503), "SQS 503 for 15 s")


def test_sqs_throttling_sends_for_a_while(aws, record_property):
    sqs_failing_trial(aws, record_property, 10,
                      Fault("sqs", action="SendMessage", status=400, throttle=True),
                      "SQS throttling SendMessage for 10 s")


@pytest.mark.long
def test_sqs_answering_503_for_a_minute(aws, record_property):
    sqs_failing_trial(aws, record_property, 60, Fault("sqs", status=503), "SQS 503 for 60 s")


def test_s3_stalled_while_the_api_stores_an_input(aws, record_property):
    """The API gives up on S3 after its timeout and answers 503; nothing is recorded."""
    user = new_user("s3-stall-api")
    client = aws.client(user)
    aws.proxy.add(Fault("s3", path_contains="/inputs/", method="PUT", delay=S3_STALL_SECONDS))
    started = time.monotonic()
    refused = submit(client, "stalled")
    answered = time.monotonic() - started
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"]["code"] == "aws_unavailable"
    assert refused.headers["Retry-After"]
    assert answered < API_PAYLOAD_TIMEOUT_SECONDS + 5, answered
    assert aws.store_dump(user)["jobs"] == []
    aws.proxy.clear()
    task_id = wait_for(lambda: accepted_id(client, "after"), 60, "a submit accepted again")
    assert aws.wait_final([task_id]) == {task_id: "COMPLETED"}
    report(record_property, "S3 stalled under the API", jobs=1, completed=1, refused_503=1,
           lost=0, duplicate_effects=0, answered_seconds=round(answered, 1))


def test_s3_stalled_while_the_gpu_worker_writes_its_outputs(aws, record_property):
    """S3 holds every write of the job's outputs for 30 s, then answers: the writes wait
    it out (within botocore's 60 s read timeout) while the heartbeat keeps the message,
    and the job completes once, one run, one graph."""
    user = new_user("s3-stall-gpu")
    events = aws.listen(user)
    client = aws.client(user)
    stall = aws.proxy.add(Fault("s3", path_contains="/results/", method="PUT",
                                delay=S3_STALL_SECONDS * 2))
    started = time.monotonic()
    task_id = client.generate(tiny_export("stalled-outputs"))["taskId"]
    wait_for(lambda: aws.proxy.injected["s3"] > 0, 120, "the outputs' first write", 0.05)
    time.sleep(S3_STALL_SECONDS)
    aws.proxy.remove(stall)  # S3 answers again: what it held goes on
    finals = aws.wait_final([task_id], 120)
    took = time.monotonic() - started
    assert finals == {task_id: "COMPLETED"}
    assert_each_once(aws, finals)
    assert aws.gpu_runs(task_id) == 1
    events.wait_for("completed", task_id)
    report(record_property, "S3 stalled under the GPU worker", jobs=1, completed=1,
           gpu_runs=aws.gpu_runs(task_id), lost=0, duplicate_effects=0,
           stalled_writes=aws.proxy.injected["s3"], submit_to_completed_seconds=round(took, 1))


def test_a_torn_s3_read_is_refused_by_its_checksum_and_read_again(aws, record_property):
    """The result worker's read of a graph (the copy it keeps under graphs/, read back to
    check and store it) comes back altered: a checksum does not match (botocore's CRC32 of
    the object, checked before ours; the SHA-256 the writer recorded, on every read), the
    handler fails, and the redelivered result reads it whole."""
    user = new_user("torn-read")
    client = aws.client(user)
    aws.proxy.add(Fault("s3", path_contains="/graphs/", method="GET", corrupt=True, times=1))
    mark = aws.log_size("worker-res")
    task_id = client.generate(tiny_export("torn"))["taskId"]
    finals = aws.wait_final([task_id], 120)
    assert finals == {task_id: "COMPLETED"}
    assert_each_once(aws, finals)
    log = aws.log_text("worker-res", mark)
    refused = r"failed on receive 1 \(\w+\('?.*(checksum|is corrupt: sha256)"
    assert re.search(refused, log), log[-3000:]
    assert aws.proxy.injected["s3"] == 1
    report(record_property, "torn S3 read", jobs=1, completed=1, lost=0, duplicate_effects=0,
           corrupt_reads_refused=1)
