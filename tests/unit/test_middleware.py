"""Middleware against moto's in-process SQS: the visibility heartbeat and failure reports."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from celery.worker import state as worker_state
from moto import mock_aws

from graphnode.contract.messages import (
    FailureKind,
    GraphGenerationRequest,
    TaskType,
    make_envelope,
    parse_envelope,
)
from graphnode.runtime.middleware import VisibilityHeartbeat, result_type_for, send_failure
from graphnode.settings import CommonSettings


class FakeRequest:
    """What the heartbeat reads of a Celery request: its SQS receipt and whether it is acked."""

    def __init__(self, queue_url, receipt_handle):
        self.id = "celery-id"
        self.receipt = (queue_url, receipt_handle)
        self.acknowledged = False


@pytest.fixture
def queue():
    with mock_aws():
        import boto3

        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="q", Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="{}")
        yield sqs, url


def receive(sqs, url):
    return sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages", [])


def test_heartbeat_keeps_a_running_message_invisible(queue):
    sqs, url = queue
    message = receive(sqs, url)[0]
    request = FakeRequest(url, message["ReceiptHandle"])
    worker_state.active_requests.add(request)
    try:
        heartbeat = VisibilityHeartbeat(CommonSettings(), interval=0.2, extend_to=30)
        heartbeat._client = sqs
        assert heartbeat.beat() == 1
        time.sleep(1.5)  # past the queue's own visibility timeout
        assert receive(sqs, url) == []
        assert heartbeat.release_all() == 1
        assert len(receive(sqs, url)) == 1  # handed back at once
    finally:
        worker_state.active_requests.discard(request)


def test_heartbeat_skips_acknowledged_messages(queue):
    sqs, url = queue
    request = FakeRequest(url, receive(sqs, url)[0]["ReceiptHandle"])
    request.acknowledged = True
    worker_state.active_requests.add(request)
    try:
        heartbeat = VisibilityHeartbeat(CommonSettings(), interval=1, extend_to=30)
        heartbeat._client = sqs
        assert heartbeat.beat() == 0
    finally:
        worker_state.active_requests.discard(request)


def test_without_heartbeat_the_message_comes_back(queue):
    sqs, url = queue
    assert receive(sqs, url)
    time.sleep(1.5)
    assert receive(sqs, url), "the emulator must redeliver after the visibility timeout"


def test_send_failure_builds_the_matching_failed_result():
    sent = []
    app = SimpleNamespace(send_task=lambda name, args, **options: sent.append(
        (name, args, options)))
    request = GraphGenerationRequest(userId="alice", inputKey="k", inputSha256="0" * 64)
    envelope = make_envelope(TaskType.GRAPH_GENERATION_REQUEST, "t1", request)
    assert send_failure(app, TaskType.GRAPH_GENERATION_REQUEST, envelope, "boom",
                        FailureKind.GAVE_UP)
    name, (result,), options = sent[0]
    assert name == "GRAPH_GENERATION_RESULT"
    # Flower and the logs name the job, never show its payload.
    assert options["task_id"] == "t1-result" and options["argsrepr"] == "{'taskId': 't1'}"
    parsed, payload = parse_envelope(result, TaskType.GRAPH_GENERATION_RESULT)
    assert parsed.taskId == "t1" and payload.userId == "alice" and payload.error == "boom"
    assert payload.failure == FailureKind.GAVE_UP


def test_send_failure_gives_up_on_unreadable_envelopes():
    app = SimpleNamespace(send_task=lambda *a, **k: pytest.fail("nothing to report to"))
    assert not send_failure(app, TaskType.GRAPH_GENERATION_REQUEST, "garbage", "x",
                            FailureKind.INPUT)
    assert not send_failure(app, TaskType.GRAPH_GENERATION_REQUEST,
                            {"taskId": "t", "payload": {"userId": "bad user!"}}, "x",
                            FailureKind.INPUT)


def test_every_request_type_has_a_result_type():
    for task_type in TaskType:
        if task_type.is_request:
            assert not result_type_for(task_type).is_request


def test_celery_ids_name_the_job():
    from graphnode.runtime.sender import celery_task_id

    assert celery_task_id(TaskType.ADD_NODE_REQUEST, "t1") == "t1"
    assert celery_task_id(TaskType.ADD_NODE_RESULT, "t1") == "t1-result"
    first, second = (celery_task_id(TaskType.GRAPH_GENERATION_PROGRESS, "t1") for _ in "ab")
    assert first.startswith("t1-progress-") and first != second


def own_and_bobs_keys():
    """Each request type with its keys in alice's areas, and with one key of bob's."""
    from graphnode.contract.messages import (
        AddNodeRequest,
        GraphSummaryRequest,
        MicroscopeIngestRequest,
    )
    from graphnode.contract.payloads import graph_key, input_key, result_key, upload_key

    sha = {"inputSha256": "0" * 64}
    own = {
        TaskType.GRAPH_GENERATION_REQUEST: GraphGenerationRequest(
            userId="alice", inputKey=upload_key("alice", "u1"), **sha),
        TaskType.GRAPH_SUMMARY_REQUEST: GraphSummaryRequest(
            userId="alice", graphKey=result_key("alice", "g1", "graph.json")),
        TaskType.ADD_NODE_REQUEST: AddNodeRequest(
            userId="alice", inputKey=input_key("alice", "a1"), baseGraphTaskId="g1",
            graphKey=graph_key("alice", "g1", "graph.json"),
            featuresKey=graph_key("alice", "g1", "features.json"), **sha),
        TaskType.MICROSCOPE_INGEST_REQUEST: MicroscopeIngestRequest(
            userId="alice", inputKey=input_key("alice", "m1", "input.bin"), groupId="w",
            documentId="d", fileName="a.md", **sha),
    }
    bobs = {
        TaskType.GRAPH_GENERATION_REQUEST: {"inputKey": input_key("bob", "b1")},
        TaskType.GRAPH_SUMMARY_REQUEST: {"graphKey": graph_key("bob", "b1", "graph.json")},
        TaskType.ADD_NODE_REQUEST: {"featuresKey": graph_key("bob", "b1", "features.json")},
        TaskType.MICROSCOPE_INGEST_REQUEST: {"inputKey": "ops/workers/req@host.json"},
    }
    return [(task_type, request, request.model_copy(update=bobs[task_type]))
            for task_type, request in own.items()]


@pytest.mark.parametrize(("task_type", "own", "lying"), own_and_bobs_keys())
def test_a_request_naming_objects_not_its_users_own_fails(task_type, own, lying):
    from prometheus_client import REGISTRY

    from graphnode.runtime.middleware import JobFailed, refuse_foreign_keys

    def refused():
        return REGISTRY.get_sample_value("graphnode_messages_refused_total", {
            "task_type": task_type.value, "reason": "foreign_key"}) or 0

    before = refused()
    refuse_foreign_keys(task_type, own)
    with pytest.raises(JobFailed, match="not its user's own: "):
        refuse_foreign_keys(task_type, lying)
    assert refused() == before + 1
