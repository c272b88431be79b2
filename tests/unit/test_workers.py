"""Result handlers against fakes: a real SQLite store, recorded events, payloads in a dict."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from graphnode.contract.graph_model import GraphDataError
from graphnode.contract.messages import (
    AddNodeResult,
    GraphGenerationResult,
    GraphSummaryResult,
    JobStatus,
    MicroscopeIngestResult,
    TaskType,
    make_envelope,
    parse_envelope,
)
from graphnode.contract.payloads import graph_key, result_key
from graphnode.stores import Job, ResultKind
from graphnode.stores.sqlite import SQLiteStore
from tests.unit import graph_documents


@dataclass
class FakeEvents:
    """Records what was published; deduplicates ``once_as`` as the Redis script does."""

    published: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    sent: set[str] = field(default_factory=set)
    released: list[str] = field(default_factory=list)  # in-flight slots freed (ends_task)
    down: bool = False

    def publish(self, user_id, event_type, data, once_as=None, ends_task=None):
        if self.down:
            raise ConnectionError("redis is down")
        if ends_task is not None:
            self.released.append(ends_task)
        if once_as is not None:
            if once_as in self.sent:
                return None
            self.sent.add(once_as)
        self.published.append((user_id, event_type, data))
        return f"{len(self.published)}-0"


@dataclass
class FakePayloads:
    objects: dict[str, Any]

    def get_json(self, key, expected_sha256=None):
        return self.objects[key]

    def copy(self, source, target):
        self.objects[target] = self.objects[source]

    superseded: set[str] = field(default_factory=set)

    def mark_superseded(self, keys):
        self.superseded.update(key for key in keys if key in self.objects)


@dataclass
class FakeContext:
    store: SQLiteStore
    payloads: FakePayloads
    events: FakeEvents


@pytest.fixture
def ctx(tmp_path, monkeypatch):
    context = FakeContext(SQLiteStore(tmp_path / "s.db"), FakePayloads({}), FakeEvents())
    for module in ("workers.results", "workers.graph_generation"):
        monkeypatch.setattr(f"{module}.result_context", lambda: context)
    return context


def outputs(ctx, task_id, user="alice", **documents):
    """Documents written where the GPU worker writes a task's outputs; their keys."""
    keys = {name: result_key(user, task_id, f"{name}.json") for name in documents}
    ctx.payloads.objects.update({keys[name]: doc for name, doc in documents.items()})
    return keys


def graph_outputs(ctx, task_id, **more):
    return outputs(ctx, task_id, graph=graph_documents.graph(), features={"nodes": []}, **more)


def deliver(task, task_type, task_id, payload):
    envelope, parsed = parse_envelope(make_envelope(task_type, task_id, payload))
    task.run(envelope, parsed)


def job(store, task_id, task_type, user="alice", scope=None):
    store.create_job(Job(taskId=task_id, userId=user, taskType=task_type, scope=scope))


def test_graph_result_is_stored_once_and_announced_once(ctx):
    from workers.graph_generation import on_result

    job(ctx.store, "t1", TaskType.GRAPH_GENERATION_REQUEST)
    result = GraphGenerationResult(userId="alice", status=JobStatus.COMPLETED,
                                   outputKeys=graph_outputs(ctx, "t1"))
    deliver(on_result, TaskType.GRAPH_GENERATION_RESULT, "t1", result)
    before = ctx.store.get_job("t1").model_dump()
    deliver(on_result, TaskType.GRAPH_GENERATION_RESULT, "t1", result)
    assert ctx.store.get_job("t1").model_dump() == before
    assert [e[1] for e in ctx.events.published] == ["completed"]
    assert ctx.events.released == ["t1"]  # the final event frees the job's in-flight slot
    assert ctx.store.latest_result("alice", ResultKind.GRAPH).document == graph_documents.graph()


def test_a_new_graph_is_kept_and_the_copies_it_replaces_expire_after_its_commit(ctx):

    for task_id in ("t1", "t2"):
        complete_graph(ctx, task_id)
    first, second = ctx.store.get_job("t1").outputKeys, ctx.store.get_job("t2").outputKeys
    assert second["graph"].startswith("graphs/") and second["graph"].endswith("/t2/graph.json")
    assert ctx.store.current_graph("alice") == "t2"
    # Still readable by requests sent against t1; the bucket's lifecycle expires them.
    assert {first["graph"], first["features"]} <= set(ctx.payloads.objects)
    assert ctx.payloads.superseded == {first["graph"], first["features"]}


def test_a_store_failure_before_the_commit_leaves_the_current_graph_whole(ctx, monkeypatch):
    from workers.graph_generation import on_result

    complete_graph(ctx, "t1")
    job(ctx.store, "t2", TaskType.GRAPH_GENERATION_REQUEST)
    result = GraphGenerationResult(userId="alice", status=JobStatus.COMPLETED,
                                   outputKeys=graph_outputs(ctx, "t2"))

    def store_down(outcome):
        raise OSError("store down")

    monkeypatch.setattr(ctx.store, "commit", store_down)
    with pytest.raises(OSError):
        deliver(on_result, TaskType.GRAPH_GENERATION_RESULT, "t2", result)
    assert ctx.store.current_graph("alice") == "t1" and not ctx.payloads.superseded
    current = ctx.store.get_job("t1").outputKeys
    assert current["graph"] in ctx.payloads.objects and current["features"] in ctx.payloads.objects


def test_result_of_another_users_job_is_dropped(ctx):
    from workers.graph_generation import on_result

    job(ctx.store, "t1", TaskType.GRAPH_GENERATION_REQUEST, user="bob")
    result = GraphGenerationResult(userId="alice", status=JobStatus.COMPLETED,
                                   outputKeys=graph_outputs(ctx, "t1", user="bob"))
    deliver(on_result, TaskType.GRAPH_GENERATION_RESULT, "t1", result)
    assert ctx.store.get_job("t1").status == JobStatus.PENDING and not ctx.events.published


def complete_graph(ctx, task_id):
    from workers.graph_generation import on_result

    job(ctx.store, task_id, TaskType.GRAPH_GENERATION_REQUEST)
    deliver(on_result, TaskType.GRAPH_GENERATION_RESULT, task_id, GraphGenerationResult(
        userId="alice", status=JobStatus.COMPLETED, outputKeys=graph_outputs(ctx, task_id)))


def test_added_nodes_on_a_graph_that_changed_meanwhile_fail(ctx):
    from workers.add_node import on_nodes_added

    complete_graph(ctx, "old")
    complete_graph(ctx, "newer-graph")
    job(ctx.store, "add1", TaskType.ADD_NODE_REQUEST)
    result = AddNodeResult(userId="alice", status=JobStatus.COMPLETED, baseGraphTaskId="old",
                           outputKeys=graph_outputs(ctx, "add1",
                                                    assignments=graph_documents.assignments()))
    deliver(on_nodes_added, TaskType.ADD_NODE_RESULT, "add1", result)
    failed = ctx.store.get_job("add1")
    assert failed.status == JobStatus.FAILED and "graph changed" in failed.error
    assert ctx.store.current_graph("alice") == "newer-graph"
    # The copies it made are no current graph's: they expire.
    assert any(key.endswith("/add1/graph.json") for key in ctx.payloads.superseded)


def test_added_nodes_store_the_graph_and_assignments_before_completing(ctx):
    from workers.add_node import on_nodes_added

    complete_graph(ctx, "base")
    job(ctx.store, "add1", TaskType.ADD_NODE_REQUEST)
    result = AddNodeResult(userId="alice", status=JobStatus.COMPLETED, baseGraphTaskId="base",
                           outputKeys=graph_outputs(ctx, "add1",
                                                    assignments=graph_documents.assignments()))
    deliver(on_nodes_added, TaskType.ADD_NODE_RESULT, "add1", result)
    assert ctx.store.get_job("add1").status == JobStatus.COMPLETED
    assert ctx.store.current_graph("alice") == "add1"
    assert (ctx.store.get_result("add1", ResultKind.ADDED_NODES).document
            == graph_documents.assignments())


def test_a_graph_that_does_not_follow_the_model_is_not_stored(ctx):
    """A GPU worker of another version: the handler fails (SQS retries, then the DLQ),
    nothing is committed and the job stays open for a redrive."""
    from workers.graph_generation import on_result

    dangling = graph_documents.graph()
    dangling["edges"][0]["target"] = "gone"
    job(ctx.store, "t1", TaskType.GRAPH_GENERATION_REQUEST)
    result = GraphGenerationResult(userId="alice", status=JobStatus.COMPLETED,
                                   outputKeys=outputs(ctx, "t1", graph=dangling, features={}))
    with pytest.raises(GraphDataError, match=r"graph of t1 .* names an unknown node"):
        deliver(on_result, TaskType.GRAPH_GENERATION_RESULT, "t1", result)
    assert ctx.store.get_job("t1").status == JobStatus.PENDING
    assert ctx.store.current_graph("alice") is None and ctx.events.published == []


def test_workspace_completion_is_announced_once(ctx):
    from workers.microscope import on_document

    for doc in ("d1", "d2"):
        job(ctx.store, doc, TaskType.MICROSCOPE_INGEST_REQUEST, scope="ws")
    for doc in ("d1", "d2", "d2"):
        keys = outputs(ctx, doc, graph=graph_documents.document_graph())
        result = MicroscopeIngestResult(userId="alice", status=JobStatus.COMPLETED,
                                        outputKeys=keys, groupId="ws", documentId=doc)
        deliver(on_document, TaskType.MICROSCOPE_INGEST_RESULT, doc, result)
    notices = [e for e in ctx.events.published if e[1] == "workspace.completed"]
    assert len(notices) == 1 and notices[0][2]["documents"] == 2
    assert [e[2]["documentId"] for e in ctx.events.published if e[1] == "completed"] == [
        "d1", "d2"]


def test_giving_up_on_a_result_fails_its_job_until_a_redrive_completes_it(ctx):
    from workers.graph_generation import on_result

    job(ctx.store, "t1", TaskType.GRAPH_GENERATION_REQUEST)
    result = GraphGenerationResult(userId="alice", status=JobStatus.COMPLETED,
                                   outputKeys=graph_outputs(ctx, "t1"))
    envelope = make_envelope(TaskType.GRAPH_GENERATION_RESULT, "t1", result)
    on_result.give_up(envelope, "boom")
    failed = ctx.store.get_job("t1")
    assert failed.status == JobStatus.FAILED and "could not be stored: boom" in failed.error
    deliver(on_result, TaskType.GRAPH_GENERATION_RESULT, "t1", result)  # the redrive
    assert ctx.store.get_job("t1").status == JobStatus.COMPLETED
    assert ctx.store.current_graph("alice") == "t1"
    assert [e[1] for e in ctx.events.published] == ["failed", "completed"]


def test_a_failed_request_stays_failed_whatever_arrives_later(ctx):
    from graphnode.contract.messages import FailureKind
    from workers.graph_generation import on_result

    job(ctx.store, "t1", TaskType.GRAPH_GENERATION_REQUEST)
    deliver(on_result, TaskType.GRAPH_GENERATION_RESULT, "t1", GraphGenerationResult(
        userId="alice", status=JobStatus.FAILED, error="gave up", failure=FailureKind.GAVE_UP))
    deliver(on_result, TaskType.GRAPH_GENERATION_RESULT, "t1", GraphGenerationResult(
        userId="alice", status=JobStatus.COMPLETED, outputKeys=graph_outputs(ctx, "t1")))
    assert ctx.store.get_job("t1").status == JobStatus.FAILED
    assert ctx.store.current_graph("alice") is None


def test_events_wait_in_the_outbox_while_redis_is_down(ctx):
    from workers.graph_generation import on_result
    from workers.outbox import publish_pending

    ctx.events.down = True
    complete_graph(ctx, "t1")  # committed; the event could not go out, and that is no error
    assert ctx.store.get_job("t1").status == JobStatus.COMPLETED and not ctx.events.published
    ctx.events.down = False
    assert publish_pending(ctx) == 1
    deliver(on_result, TaskType.GRAPH_GENERATION_RESULT, "t1", GraphGenerationResult(
        userId="alice", status=JobStatus.COMPLETED, outputKeys=graph_outputs(ctx, "t1")))
    assert publish_pending(ctx) == 0
    assert [e[1] for e in ctx.events.published] == ["completed"]


def test_progress_reports_attempts_and_survives_redis_outages(ctx):
    from graphnode.contract.messages import Progress
    from workers.graph_generation import on_progress

    job(ctx.store, "t1", TaskType.GRAPH_GENERATION_REQUEST)
    for attempt, fraction in ((1, 0.5), (2, 0.01)):
        deliver(on_progress, TaskType.GRAPH_GENERATION_PROGRESS, "t1",
                Progress(userId="alice", stage="s", progress=fraction, attempt=attempt))
    assert ctx.store.get_job("t1").attempts == 2
    ctx.events.down = True
    deliver(on_progress, TaskType.GRAPH_GENERATION_PROGRESS, "t1",
            Progress(userId="alice", stage="s", progress=0.6, attempt=2))
    assert ctx.store.get_job("t1").progress == 0.6


def test_giving_up_on_progress_changes_nothing(ctx):
    from graphnode.contract.messages import Progress
    from workers.graph_generation import on_progress

    job(ctx.store, "t1", TaskType.GRAPH_GENERATION_REQUEST)
    on_progress.give_up(make_envelope(TaskType.GRAPH_GENERATION_PROGRESS, "t1",
                                      Progress(userId="alice", stage="s", progress=0.5)), "x")
    assert ctx.store.get_job("t1").status == JobStatus.PENDING


def refusals(task_type, reason):
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("graphnode_messages_refused_total",
                                     {"task_type": task_type.value, "reason": reason}) or 0


@pytest.mark.parametrize("lie", ["unknown_job", "not_owner", "wrong_type", "foreign_key",
                                 "another_tasks_outputs"])
def test_a_result_that_lies_is_dropped_and_counted(ctx, caplog, lie):
    """The job record is trusted, not the message: nothing is committed, copied or sent."""
    from workers.graph_generation import on_result
    from workers.graph_summary import on_summary

    complete_graph(ctx, "victim")  # bob's would-be target: alice's current graph
    job(ctx.store, "t1", TaskType.GRAPH_GENERATION_REQUEST)
    task, task_type, task_id, user = on_result, TaskType.GRAPH_GENERATION_RESULT, "t1", "alice"
    keys = graph_outputs(ctx, "t1")
    if lie == "unknown_job":
        task_id = "nobody-sent-this"
    elif lie == "not_owner":
        user = "bob"
    elif lie == "wrong_type":
        task, task_type = on_summary, TaskType.GRAPH_SUMMARY_RESULT
        keys = outputs(ctx, "t1", summary={"overview": "x"})
    elif lie == "foreign_key":  # another user's graph, to be copied into alice's
        keys = {"graph": graph_key("bob", "b1", "graph.json"),
                "features": graph_key("bob", "b1", "features.json")}
    else:
        keys = ctx.store.get_job("victim").outputKeys
    reason = "foreign_key" if lie == "another_tasks_outputs" else lie
    before = refusals(task_type, reason)
    published, objects = list(ctx.events.published), dict(ctx.payloads.objects)
    payload = {"userId": user, "status": JobStatus.COMPLETED, "outputKeys": keys}
    model = GraphSummaryResult if lie == "wrong_type" else GraphGenerationResult
    deliver(task, task_type, task_id, model(**payload))
    assert ctx.store.get_job("t1").status == JobStatus.PENDING
    assert ctx.store.current_graph("alice") == "victim"
    assert ctx.events.published == published and ctx.payloads.objects == objects
    assert refusals(task_type, reason) == before + 1
    assert f"dropped ({reason})" in caplog.text


def test_jobs_past_their_deadline_end_failed_lost_and_a_late_result_completes_them(ctx):
    from datetime import timedelta

    from graphnode.contract.messages import FailureKind
    from graphnode.stores.base import utcnow
    from workers.deadline import end_lost_jobs
    from workers.graph_generation import on_result

    old = utcnow() - timedelta(seconds=120)
    for task_id in ("lost-pending", "lost-running", "recent"):
        ctx.store.create_job(Job(taskId=task_id, userId="alice", createdAt=old, updatedAt=old,
                                 taskType=TaskType.GRAPH_GENERATION_REQUEST))
    ctx.store.record_progress("recent", "embedding", 0.5)  # changed just now
    running = ctx.store.get_job("lost-running").model_copy(update={"status": JobStatus.RUNNING})
    with ctx.store._connect(write=True) as db:  # a progress report of two minutes ago
        ctx.store._write_job(db, running)
    assert end_lost_jobs(ctx, deadline=60) == 2
    assert end_lost_jobs(ctx, deadline=60) == 0  # once
    for task_id in ("lost-pending", "lost-running"):
        job = ctx.store.get_job(task_id)
        assert (job.status, job.failure) == (JobStatus.FAILED, FailureKind.LOST)
        assert "submit it again" in job.error
    assert ctx.store.get_job("recent").status == JobStatus.RUNNING
    assert sorted((e[1], e[2]["taskId"]) for e in ctx.events.published) == [
        ("failed", "lost-pending"), ("failed", "lost-running")]
    deliver(on_result, TaskType.GRAPH_GENERATION_RESULT, "lost-pending", GraphGenerationResult(
        userId="alice", status=JobStatus.COMPLETED, outputKeys=graph_outputs(ctx, "lost-pending")))
    assert ctx.store.get_job("lost-pending").status == JobStatus.COMPLETED
    assert ctx.store.current_graph("alice") == "lost-pending"
