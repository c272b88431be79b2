"""Result handlers against fakes: a real SQLite store, recorded events, payloads in a dict."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from graphnode.contract import (
    AddNodeResult,
    GraphGenerationResult,
    JobStatus,
    MicroscopeIngestResult,
    TaskType,
    make_envelope,
    parse_envelope,
)
from graphnode.stores import Job, ResultKind
from graphnode.stores.sqlite import SQLiteStore


@dataclass
class FakeEvents:
    published: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def publish(self, user_id, event_type, data):
        self.published.append((user_id, event_type, data))
        return f"{len(self.published)}-0"


@dataclass
class FakePayloads:
    objects: dict[str, Any]

    def get_json(self, key, expected_sha256=None):
        return self.objects[key]

    def copy(self, source, target):
        self.objects[target] = self.objects[source]

    def delete(self, keys):
        for key in keys:
            self.objects.pop(key, None)


@dataclass
class FakeContext:
    store: SQLiteStore
    payloads: FakePayloads
    events: FakeEvents


@pytest.fixture
def ctx(tmp_path, monkeypatch):
    context = FakeContext(SQLiteStore(tmp_path / "s.db"), FakePayloads({
        "g": {"nodes": [1]}, "f": {"nodes": []}, "a": [{"nodeId": "n"}], "d": {"entities": []},
    }), FakeEvents())
    for module in ("workers.results", "workers.add_node", "workers.microscope"):
        monkeypatch.setattr(f"{module}.result_context", lambda: context)
    return context


def deliver(task, task_type, task_id, payload):
    envelope, parsed = parse_envelope(make_envelope(task_type, task_id, payload))
    task.run(envelope, parsed)


def job(store, task_id, task_type, user="alice", scope=None):
    store.create_job(Job(taskId=task_id, userId=user, taskType=task_type, scope=scope))


def test_graph_result_is_stored_once_and_announced_once(ctx):
    from workers.graph_generation import on_result

    job(ctx.store, "t1", TaskType.GRAPH_GENERATION_REQUEST)
    result = GraphGenerationResult(userId="alice", status=JobStatus.COMPLETED,
                                   outputKeys={"graph": "g", "features": "f"})
    deliver(on_result, TaskType.GRAPH_GENERATION_RESULT, "t1", result)
    before = ctx.store.get_job("t1").model_dump()
    deliver(on_result, TaskType.GRAPH_GENERATION_RESULT, "t1", result)
    assert ctx.store.get_job("t1").model_dump() == before
    assert [e[1] for e in ctx.events.published] == ["completed"]
    assert ctx.store.latest_result("alice", ResultKind.GRAPH).document == {"nodes": [1]}


def test_a_new_graph_is_kept_beyond_the_claim_checks_and_replaces_the_old_copies(ctx):
    from workers.graph_generation import on_result

    result = GraphGenerationResult(userId="alice", status=JobStatus.COMPLETED,
                                   outputKeys={"graph": "g", "features": "f"})
    for task_id in ("t1", "t2"):
        job(ctx.store, task_id, TaskType.GRAPH_GENERATION_REQUEST)
        deliver(on_result, TaskType.GRAPH_GENERATION_RESULT, task_id, result)
    first, second = ctx.store.get_job("t1").outputKeys, ctx.store.get_job("t2").outputKeys
    assert second["graph"].startswith("graphs/") and second["graph"].endswith("/t2/graph.json")
    assert second["features"] in ctx.payloads.objects and second["graph"] in ctx.payloads.objects
    assert first["graph"] not in ctx.payloads.objects  # replaced, so no longer kept
    assert first["features"] not in ctx.payloads.objects


def test_result_of_another_users_job_is_dropped(ctx):
    from workers.graph_generation import on_result

    job(ctx.store, "t1", TaskType.GRAPH_GENERATION_REQUEST, user="bob")
    result = GraphGenerationResult(userId="alice", status=JobStatus.COMPLETED,
                                   outputKeys={"graph": "g"})
    deliver(on_result, TaskType.GRAPH_GENERATION_RESULT, "t1", result)
    assert ctx.store.get_job("t1").status == JobStatus.PENDING and not ctx.events.published


def test_added_nodes_on_a_graph_that_changed_meanwhile_fail(ctx):
    from workers.add_node import on_nodes_added

    ctx.store.save_result("alice", "newer-graph", ResultKind.GRAPH, {"nodes": []})
    job(ctx.store, "add1", TaskType.ADD_NODE_REQUEST)
    result = AddNodeResult(userId="alice", status=JobStatus.COMPLETED, baseGraphTaskId="old",
                           outputKeys={"graph": "g", "features": "f", "assignments": "a"})
    deliver(on_nodes_added, TaskType.ADD_NODE_RESULT, "add1", result)
    failed = ctx.store.get_job("add1")
    assert failed.status == JobStatus.FAILED and "graph changed" in failed.error
    assert ctx.store.latest_result("alice", ResultKind.GRAPH).taskId == "newer-graph"


def test_added_nodes_store_the_graph_and_assignments_before_completing(ctx):
    from workers.add_node import on_nodes_added

    ctx.store.save_result("alice", "base", ResultKind.GRAPH, {"nodes": []})
    job(ctx.store, "add1", TaskType.ADD_NODE_REQUEST)
    result = AddNodeResult(userId="alice", status=JobStatus.COMPLETED, baseGraphTaskId="base",
                           outputKeys={"graph": "g", "features": "f", "assignments": "a"})
    deliver(on_nodes_added, TaskType.ADD_NODE_RESULT, "add1", result)
    assert ctx.store.get_job("add1").status == JobStatus.COMPLETED
    assert ctx.store.latest_result("alice", ResultKind.GRAPH).taskId == "add1"
    assert ctx.store.get_result("add1", ResultKind.ADDED_NODES).document == [{"nodeId": "n"}]


def test_workspace_completion_is_announced_once(ctx):
    from workers.microscope import on_document

    for doc in ("d1", "d2"):
        job(ctx.store, doc, TaskType.MICROSCOPE_INGEST_REQUEST, scope="ws")
    for doc in ("d1", "d2", "d2"):
        result = MicroscopeIngestResult(userId="alice", status=JobStatus.COMPLETED,
                                        outputKeys={"graph": "d"}, groupId="ws", documentId=doc)
        deliver(on_document, TaskType.MICROSCOPE_INGEST_RESULT, doc, result)
    notices = [e for e in ctx.events.published if e[1] == "workspace.completed"]
    assert len(notices) == 1 and notices[0][2]["documents"] == 2


def test_giving_up_on_a_result_fails_its_job(ctx):
    from workers.graph_generation import on_result

    job(ctx.store, "t1", TaskType.GRAPH_GENERATION_REQUEST)
    result = GraphGenerationResult(userId="alice", status=JobStatus.COMPLETED,
                                   outputKeys={"graph": "g"})
    on_result.give_up(make_envelope(TaskType.GRAPH_GENERATION_RESULT, "t1", result), "boom")
    failed = ctx.store.get_job("t1")
    assert failed.status == JobStatus.FAILED and "could not be stored: boom" in failed.error
    assert [e[1] for e in ctx.events.published] == ["failed"]


def test_giving_up_on_progress_changes_nothing(ctx):
    from graphnode.contract import Progress
    from workers.graph_generation import on_progress

    job(ctx.store, "t1", TaskType.GRAPH_GENERATION_REQUEST)
    on_progress.give_up(make_envelope(TaskType.GRAPH_GENERATION_PROGRESS, "t1",
                                      Progress(userId="alice", stage="s", progress=0.5)), "x")
    assert ctx.store.get_job("t1").status == JobStatus.PENDING
