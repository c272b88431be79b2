"""One graph job through the whole real stack: HTTP → S3 + SQS → GPU worker → SQS → result
worker → SQLite + Redis → SSE. Also: redelivery, malformed messages, DLQ redrive."""

from __future__ import annotations

import json
import time

import pytest
import requests

from graphnode.contract.messages import (
    GraphGenerationRequest,
    GraphGenerationResult,
    GraphSummaryResult,
    JobStatus,
    Progress,
    TaskType,
    make_envelope,
)
from graphnode.contract.payloads import graph_key, input_key, result_key
from graphnode.contract.topology import load_topology, provision
from graphnode.ops import dlq
from graphnode.runtime.sender import send_message
from graphnode.samples import load_sample_export, sample_topic_labels
from graphnode.stores import Job, ResultKind, open_store
from tests.integration.conftest import (
    SHORT_VISIBILITY_SECONDS,
    EventCollector,
    aws,
    client_for,
    count_in_log,
    sample,
    stack_settings,
    wait_for,
    wait_for_job_end,
)

pytestmark = pytest.mark.integration


def test_provisioning_follows_the_declared_topology(stack):
    settings = stack_settings(stack).model_copy(
        update={"request_queue": "topo-graph-req", "result_queue": "topo-graph-res",
                "payload_bucket": "topo-bucket"})
    provision(settings)
    provision(settings)  # idempotent
    sqs, s3 = aws(stack, "sqs"), aws(stack, "s3")
    for declared, spec in load_topology().queues.items():
        name = "topo-" + declared
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert int(attributes["VisibilityTimeout"]) == spec.visibility_timeout_seconds
        assert int(attributes["MessageRetentionPeriod"]) == spec.message_retention_seconds
        assert int(attributes["ReceiveMessageWaitTimeSeconds"]) == spec.receive_wait_time_seconds
        redrive = json.loads(attributes["RedrivePolicy"])
        assert int(redrive["maxReceiveCount"]) == spec.max_receive_count == 5
        assert redrive["deadLetterTargetArn"].endswith(f":{name}-dlq")
        dlq_url = sqs.get_queue_url(QueueName=f"{name}-dlq")["QueueUrl"]
        dlq = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["All"])["Attributes"]
        assert int(dlq["MessageRetentionPeriod"]) == spec.dlq_message_retention_seconds
    rules = s3.get_bucket_lifecycle_configuration(Bucket="topo-bucket")["Rules"]
    topology = load_topology()
    # Prefix-expiry rules are the claim checks' (beside them: aborting incomplete uploads).
    assert {r["Filter"]["Prefix"]: r["Expiration"]["Days"]
            for r in rules if "Expiration" in r and "Prefix" in r["Filter"]} == {
        prefix: topology.expiration_days for prefix in topology.claim_check_prefixes}
    [superseded] = [r for r in rules if "Tag" in r["Filter"]]
    assert superseded["Filter"]["Tag"] == {"Key": "graphnode-superseded", "Value": "true"}
    assert superseded["Expiration"]["Days"] == topology.superseded_expiration_days
    block = s3.get_public_access_block(Bucket="topo-bucket")["PublicAccessBlockConfiguration"]
    assert all(block.values())


def test_job_completes_with_a_graph_and_progress_over_sse(completed_job, stack):
    alice, task_id = completed_job["alice"], completed_job["accepted"]["taskId"]
    events = [e for e in completed_job["alice_events"].events if e.data.get("taskId") == task_id]
    progress = [e.data["progress"] for e in events if e.type == "progress"]
    assert len(progress) >= 3 and progress == sorted(progress)
    assert events[-1].type == "completed" and events[-1].data["status"] == "COMPLETED"

    job = alice.job(task_id)
    assert job["status"] == "COMPLETED" and job["progress"] == 1.0
    graph = alice.my_graph()
    sample = load_sample_export()
    assert graph["taskId"] == task_id
    assert len(graph["nodes"]) == len(sample) == job["stats"]["nodes"]
    assert 3 <= len(graph["metadata"]["clusters"]) <= 8
    # The sample has six distinct topics: each cluster is one topic, each topic one cluster.
    topics = sample_topic_labels()
    clusters_of_topic = {}
    for node in graph["nodes"]:
        clusters_of_topic.setdefault(topics[node["origId"]], set()).add(node["clusterId"])
    assert all(len(clusters) == 1 for clusters in clusters_of_topic.values())
    assert len(graph["metadata"]["clusters"]) == len(clusters_of_topic) == 6
    assert graph["edges"] and all(e["source"] != e["target"] for e in graph["edges"])
    node = graph["nodes"][0]
    assert {"id", "origId", "clusterId", "clusterName", "keywords", "timestamp",
            "numSections", "sourceType"} <= set(node)


def test_events_and_jobs_stay_with_their_user(completed_job, stack, api_settings):
    task_id = completed_job["accepted"]["taskId"]
    assert completed_job["bob_events"].events == []
    bob = client_for(stack, api_settings, "bob")
    with pytest.raises(RuntimeError, match="404"):
        bob.job(task_id)
    with pytest.raises(RuntimeError, match="404"):
        bob.my_graph()


def test_the_visibility_heartbeat_prevents_a_second_run(stack, api_settings):
    """A job several times longer than graph-req's visibility timeout still runs once."""
    from datetime import datetime

    from graphnode.samples import load_korean_export

    client = client_for(stack, api_settings, "heartbeat-user")
    task_id = client.generate(load_sample_export() + load_korean_export())["taskId"]
    job = wait_for_job_end(client, task_id, 240)
    assert job["status"] == "COMPLETED", job
    took = (datetime.fromisoformat(job["updatedAt"]) -
            datetime.fromisoformat(job["createdAt"])).total_seconds()
    assert took > 2 * SHORT_VISIBILITY_SECONDS, "job too short to prove the heartbeat"
    runs = count_in_log(stack.log_path("worker-req"), f"running GRAPH_GENERATION_REQUEST {task_id}")
    assert runs == 1


def test_reconnecting_client_resumes_after_last_event_id(completed_job):
    events = [e for e in completed_job["alice_events"].events
              if e.data.get("taskId") == completed_job["accepted"]["taskId"]]
    resumed = EventCollector(completed_job["alice"], last_event_id=events[0].id)
    wait_for(lambda: len(resumed.events) >= len(events) - 1, 10, "replayed events")
    assert [e.id for e in resumed.events[:len(events) - 1]] == [e.id for e in events[1:]]


def test_a_redelivered_result_changes_nothing(completed_job, stack, celery_sender):
    task_id = completed_job["accepted"]["taskId"]
    store = open_store(stack.env["GRAPHNODE_STORE_URL"])
    job = store.get_job(task_id)
    before = (job.model_dump(), store.get_result(task_id, ResultKind.GRAPH).model_dump())
    log = stack.log_path("worker-res")
    pattern = r"Task GRAPH_GENERATION_RESULT\[[^\]]+\] succeeded"
    handled = count_in_log(log, pattern)
    # As the GPU worker sent it: its outputs where it wrote them (the job keeps copies).
    written = {name: result_key("alice", task_id, f"{name}.json") for name in job.outputKeys}
    result = GraphGenerationResult(userId="alice", status=JobStatus.COMPLETED,
                                   outputKeys=written, stats=job.stats)
    send_message(celery_sender, TaskType.GRAPH_GENERATION_RESULT, task_id, result)
    wait_for(lambda: count_in_log(log, pattern) > handled, 60, "the second delivery")
    after = (store.get_job(task_id).model_dump(),
             store.get_result(task_id, ResultKind.GRAPH).model_dump())
    assert after == before
    time.sleep(0.5)
    completed = [e for e in completed_job["alice_events"].events
                 if e.type == "completed" and e.data.get("taskId") == task_id]
    assert len(completed) == 1


def refusals(stack, reason: str) -> float:
    """graphnode_messages_refused_total of the result worker, summed over task types."""
    return sample(requests.get(stack.metrics_url("worker-res"), timeout=10).text,
                  "graphnode_messages_refused_total", reason=reason)


def test_results_that_lie_are_dropped_counted_and_change_nothing(completed_job, stack,
                                                                 celery_sender):
    """On graph-res, results that name another user, an unknown job, another job type,
    outputs not written for the job, or a 1 MiB body: the job record is trusted, not the
    message. Each is logged and counted; only the malformed one waits for the DLQ."""
    task_id = completed_job["accepted"]["taskId"]
    store = open_store(stack.env["GRAPHNODE_STORE_URL"])
    job = store.get_job(task_id)
    before = (job.model_dump(), store.current_graph("alice"), store.current_graph("mallory"))
    written = {name: result_key("alice", task_id, f"{name}.json") for name in job.outputKeys}
    lies = {
        "not_owner": (TaskType.GRAPH_GENERATION_RESULT, task_id, GraphGenerationResult(
            userId="mallory", status=JobStatus.COMPLETED, outputKeys=written)),
        "unknown_job": (TaskType.GRAPH_GENERATION_RESULT, "never-accepted", GraphGenerationResult(
            userId="alice", status=JobStatus.COMPLETED, outputKeys=written)),
        "wrong_type": (TaskType.GRAPH_SUMMARY_RESULT, task_id, GraphSummaryResult(
            userId="alice", status=JobStatus.FAILED, error="a summary of a graph job")),
        "foreign_key": (TaskType.GRAPH_GENERATION_RESULT, task_id, GraphGenerationResult(
            userId="alice", status=JobStatus.COMPLETED,
            outputKeys={name: graph_key("mallory", "m1", f"{name}.json") for name in written})),
    }
    counts = {reason: refusals(stack, reason) for reason in (*lies, "malformed")}
    for task_type, lied_about, payload in lies.values():
        send_message(celery_sender, task_type, lied_about, payload)
    huge = make_envelope(TaskType.GRAPH_GENERATION_PROGRESS, task_id,
                         Progress(userId="alice", stage="s", progress=0.5))
    huge["payload"]["message"] = "x" * 900_000
    celery_sender.send_task(TaskType.GRAPH_GENERATION_PROGRESS.value, args=[huge])
    for reason in lies:
        wait_for(lambda r=reason: refusals(stack, r) == counts[r] + 1, 60, f"the {reason} lie")
    wait_for(lambda: refusals(stack, "malformed") > counts["malformed"], 60, "the 1 MiB body")
    assert (store.get_job(task_id).model_dump(), store.current_graph("alice"),
            store.current_graph("mallory")) == before
    log = stack.log_path("worker-res").read_text()
    assert all(f"dropped ({reason})" in log for reason in lies)
    assert "over the 65536-byte limit" in log


def test_a_request_naming_another_users_input_fails_unread(stack, celery_sender):
    from graphnode.contract.payloads import PayloadStore, sha256_hex

    data = json.dumps(load_sample_export()[:3]).encode()
    carols = input_key("carol", "carols-own")
    PayloadStore(stack_settings(stack)).put_bytes(carols, data, "application/json")
    store = open_store(stack.env["GRAPHNODE_STORE_URL"])
    store.create_job(Job(taskId="peeking1", userId="dave",
                         taskType=TaskType.GRAPH_GENERATION_REQUEST))
    send_message(celery_sender, TaskType.GRAPH_GENERATION_REQUEST, "peeking1",
                 GraphGenerationRequest(userId="dave", inputKey=carols,
                                        inputSha256=sha256_hex(data)))
    job = wait_for(lambda: (j := store.get_job("peeking1")).status.is_final and j, 60,
                   "the FAILED result")
    assert job.status == JobStatus.FAILED and "not its user's own" in job.error
    assert job.outputKeys == {}


MALFORMED_INPUTS = {
    "chatgpt export": ([{"title": "Broken", "current_node": "a", "mapping": {"a": "not a node"}}],
                       "mapping node 'a' must be an object"),
    "flat messages": ([{"id": "m1", "role": "usr", "content": "hello"}],
                      "message 0 ('m1'): field 'role' is 'usr'"),
    "notes": ({"source_nodes": [{"id": "n1", "title": "x", "sections": "not a list"}]},
              "field 'sections' must be a list"),
    "bundle": ({"conversations": [{"title": "B", "mapping": "nope"}]},
               "field 'mapping' must be an object"),
}


@pytest.fixture(scope="module")
def carol_events(stack, api_settings):
    carol = client_for(stack, api_settings, "carol")
    return carol, EventCollector(carol)


@pytest.mark.parametrize("name", MALFORMED_INPUTS)
def test_an_unparseable_input_ends_failed_with_the_reason(carol_events, name):
    carol, events = carol_events
    document, reason = MALFORMED_INPUTS[name]
    task_id = carol.generate(document)["taskId"]
    failed = events.wait_for("failed", task_id, timeout=60)
    assert failed.data["status"] == "FAILED" and reason in failed.data["error"]
    assert carol.job(task_id)["status"] == "FAILED"


def test_malformed_request_fails_its_job_and_lands_in_the_dlq(stack, celery_sender):
    store = open_store(stack.env["GRAPHNODE_STORE_URL"])
    store.create_job(Job(taskId="malformed1", userId="dave",
                         taskType=TaskType.GRAPH_GENERATION_REQUEST))
    envelope = make_envelope(
        TaskType.GRAPH_GENERATION_REQUEST, "malformed1",
        GraphGenerationRequest(userId="dave", inputKey=input_key("dave", "malformed1"),
                               inputSha256="0" * 64))
    envelope["payload"]["inputSha256"] = "not-a-checksum"
    celery_sender.send_task(TaskType.GRAPH_GENERATION_REQUEST.value, args=[envelope])

    job = wait_for(lambda: (j := store.get_job("malformed1")).status.is_final and j, 60,
                   "the FAILED result")
    assert job.status == JobStatus.FAILED and "inputSha256" in job.error
    assert "rejected malformed GRAPH_GENERATION_REQUEST" in (
        stack.log_path("worker-req").read_text())
    settings = stack_settings(stack)
    wait_for(lambda: dlq.peek(settings, "it-graph-req")["count"] == 1, 90,
             "the message in the DLQ after 5 receives")
    (dead,) = dlq.peek(settings, "it-graph-req")["messages"]
    assert dead == {"taskType": "GRAPH_GENERATION_REQUEST", "taskId": "malformed1",
                    "task": "GRAPH_GENERATION_REQUEST"}
    assert dlq.redrive(settings, "it-graph-req") == 1  # back for another five receives
    assert dlq.peek(settings, "it-graph-req")["count"] == 0


def test_a_request_that_keeps_failing_ends_failed_after_the_last_receive(stack, celery_sender):
    """An unexpected error is retried by SQS redelivery; the last receive reports FAILED."""
    from graphnode.contract.payloads import PayloadStore, sha256_hex

    store = open_store(stack.env["GRAPHNODE_STORE_URL"])
    store.create_job(Job(taskId="crashing1", userId="dave",
                         taskType=TaskType.GRAPH_GENERATION_REQUEST))
    garbage = b"\x00 not json at all"
    key = input_key("dave", "crashing1")
    PayloadStore(stack_settings(stack)).put_bytes(key, garbage, "text/plain")
    request = GraphGenerationRequest(userId="dave", inputKey=key,
                                     inputSha256=sha256_hex(garbage))
    sent = celery_sender.send_task(TaskType.GRAPH_GENERATION_REQUEST.value, args=[
        make_envelope(TaskType.GRAPH_GENERATION_REQUEST, "crashing1", request)])

    job = wait_for(lambda: (j := store.get_job("crashing1")).status.is_final and j, 120,
                   "the FAILED result after the last receive")
    assert job.status == JobStatus.FAILED
    assert job.error.startswith("gave up after 5 attempts")
    log = stack.log_path("worker-req")
    assert count_in_log(log, rf"Task GRAPH_GENERATION_REQUEST\[{sent.id}\] received") == 5
