"""One contract suite for every Store adapter: SQLite, MongoDB (mongomock, and a real
server when GRAPHNODE_TEST_MONGO_URI is set)."""

from __future__ import annotations

import os
import uuid

import pytest

from graphnode.contract import JobStatus, TaskType
from graphnode.stores import Job, JobExistsError, ResultKind, Store


def _sqlite(tmp_path):
    from graphnode.stores.sqlite import SQLiteStore

    return SQLiteStore(tmp_path / "store.db")


def _mongomock(tmp_path):
    import mongomock

    from graphnode.stores.mongo import MongoStore

    return MongoStore("mongodb://fake", database="graphnode_test",
                      client=mongomock.MongoClient(tz_aware=True))


def _real_mongo(tmp_path):
    url = os.environ.get("GRAPHNODE_TEST_MONGO_URI")
    if not url:
        pytest.skip("GRAPHNODE_TEST_MONGO_URI not set")
    import pymongo

    from graphnode.stores.mongo import MongoStore

    client = pymongo.MongoClient(url, tz_aware=True)
    database = f"graphnode_test_{uuid.uuid4().hex[:8]}"
    store = MongoStore(url, database=database, client=client)
    yield store
    client.drop_database(database)


@pytest.fixture(params=[_sqlite, _mongomock, _real_mongo], ids=["sqlite", "mongomock", "mongodb"])
def store(request, tmp_path) -> Store:
    made = request.param(tmp_path)
    if hasattr(made, "__next__"):
        yield next(made)
    else:
        yield made


def new_job(task_id="t1", user_id="alice") -> Job:
    return Job(taskId=task_id, userId=user_id, taskType=TaskType.GRAPH_GENERATION_REQUEST)


def test_create_and_get(store):
    store.create_job(new_job())
    job = store.get_job("t1")
    assert job.status == JobStatus.PENDING and job.userId == "alice" and not job.notified
    assert store.get_job("missing") is None


def test_task_id_is_unique(store):
    store.create_job(new_job())
    with pytest.raises(JobExistsError):
        store.create_job(new_job())


def test_progress_only_moves_forward(store):
    store.create_job(new_job())
    assert store.record_progress("t1", "embedding", 0.5)
    assert not store.record_progress("t1", "parsed", 0.2)
    assert not store.record_progress("t1", "embedding", 0.5)
    job = store.get_job("t1")
    assert (job.status, job.stage, job.progress) == (JobStatus.RUNNING, "embedding", 0.5)
    assert not store.record_progress("missing", "x", 0.9)


def test_final_state_is_set_once(store):
    store.create_job(new_job())
    assert store.finish_job("t1", JobStatus.COMPLETED, output_keys={"graph": "k"},
                            stats={"nodes": 3})
    assert not store.finish_job("t1", JobStatus.FAILED, error="late failure")
    assert not store.record_progress("t1", "late", 0.99)
    job = store.get_job("t1")
    assert job.status == JobStatus.COMPLETED and job.error is None
    assert job.outputKeys == {"graph": "k"} and job.stats == {"nodes": 3} and job.progress == 1.0


def test_failed_job_keeps_its_error(store):
    store.create_job(new_job())
    assert store.finish_job("t1", JobStatus.FAILED, error="bad input")
    assert store.get_job("t1").error == "bad input"


def test_notified_flag(store):
    store.create_job(new_job())
    store.mark_notified("t1")
    store.mark_notified("t1")
    assert store.get_job("t1").notified


def test_result_is_inserted_once_and_latest_is_per_user_and_kind(store):
    assert store.latest_result("alice", ResultKind.GRAPH) is None
    assert store.save_result("alice", "t1", ResultKind.GRAPH, {"nodes": [1]})
    assert not store.save_result("alice", "t1", ResultKind.GRAPH, {"nodes": [2]})
    assert store.save_result("alice", "t2", ResultKind.GRAPH, {"nodes": [3]})
    assert store.save_result("alice", "t3", ResultKind.SUMMARY, {"overview": {}})
    assert store.save_result("bob", "t4", ResultKind.GRAPH, {"nodes": [4]})
    latest = store.latest_result("alice", ResultKind.GRAPH)
    assert latest.taskId == "t2" and latest.document == {"nodes": [3]}
    assert store.latest_result("alice", ResultKind.SUMMARY).taskId == "t3"
    assert store.latest_result("bob", ResultKind.GRAPH).document == {"nodes": [4]}
    assert store.latest_result("carol", ResultKind.GRAPH) is None
    assert store.get_result("t1", ResultKind.GRAPH).document == {"nodes": [1]}
    assert store.get_result("t1", ResultKind.SUMMARY) is None
    assert store.get_result("missing", ResultKind.GRAPH) is None
    assert store.save_result("alice", "t1", ResultKind.ADDED_NODES, [{"nodeId": "n"}])
    assert store.get_result("t1", ResultKind.ADDED_NODES).document == [{"nodeId": "n"}]


def test_results_and_jobs_in_a_scope(store):
    for task_id, user in [("d1", "alice"), ("d2", "alice"), ("d3", "bob")]:
        store.create_job(new_job(task_id, user).model_copy(update={"scope": "ws1"}))
        store.save_result(user, task_id, ResultKind.DOCUMENT_GRAPH, {"doc": task_id}, "ws1")
    store.create_job(new_job("other", "alice").model_copy(update={"scope": "ws2"}))
    assert [j.taskId for j in store.jobs_in_scope("alice", "ws1")] == ["d1", "d2"]
    found = store.results_in_scope("alice", ResultKind.DOCUMENT_GRAPH, "ws1")
    assert [r.document for r in found] == [{"doc": "d1"}, {"doc": "d2"}]
    assert store.results_in_scope("alice", ResultKind.DOCUMENT_GRAPH, "ws2") == []
    assert store.latest_result("alice", ResultKind.DOCUMENT_GRAPH, "ws1").taskId == "d2"
