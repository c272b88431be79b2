"""One contract suite for every Store adapter, each test against each of them:

- ``sqlite``: the embedded default, a SQLite file;
- ``mongodb-wire``: the MongoDB adapter over pymongo's real network path, against the
  ``mongo_uri`` server: nx-27017, a MongoDB wire-compatible server on SQLite (not MongoDB
  itself), or a real MongoDB when GRAPHNODE_TEST_MONGO_URI is set. Each test gets a
  database of its own, dropped afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from graphnode.contract import JobStatus, TaskType
from graphnode.stores import Job, JobExistsError, ResultKind, Store


@pytest.fixture
def sqlite_adapter(tmp_path) -> Store:
    from graphnode.stores.sqlite import SQLiteStore

    return SQLiteStore(tmp_path / "store.db")


@pytest.fixture
def mongo_adapter(mongo_uri) -> Iterator[Store]:
    import pymongo

    from graphnode.stores.mongo import MongoStore

    client = pymongo.MongoClient(mongo_uri, tz_aware=True)
    database = f"graphnode_test_{uuid.uuid4().hex[:12]}"
    store = MongoStore(mongo_uri, database=database, client=client)
    try:
        yield store
    finally:
        client.drop_database(database)
        client.close()


@pytest.fixture(params=["sqlite_adapter", "mongo_adapter"], ids=["sqlite", "mongodb-wire"])
def store(request) -> Store:
    return request.getfixturevalue(request.param)


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


def test_mongo_adapter_talks_over_the_wire(mongo_adapter, mongo_uri):
    """pymongo's real network path: the adapter's client is connected to the server."""
    import pymongo

    assert mongo_adapter.jobs.database.client.address is not None
    mongo_adapter.create_job(new_job("wire"))
    with pymongo.MongoClient(mongo_uri, tz_aware=True) as other:
        seen = other[mongo_adapter.jobs.database.name]["jobs"].find_one({"_id": "wire"})
    assert seen["userId"] == "alice"


def test_wire_server_runs_multi_document_transactions(mongo_uri):
    """What the adapter relies on for writes that must land together: commit and abort."""
    import pymongo

    database = f"graphnode_tx_{uuid.uuid4().hex[:12]}"
    with pymongo.MongoClient(mongo_uri, tz_aware=True) as client:
        jobs, results = client[database]["jobs"], client[database]["results"]
        jobs.insert_one({"_id": "seed"})  # collections exist before the transaction
        results.insert_one({"_id": "seed"})
        try:
            with client.start_session() as session:
                session.with_transaction(lambda s: (
                    jobs.insert_one({"_id": "t1"}, session=s),
                    results.insert_one({"_id": "r1"}, session=s)))
            assert jobs.find_one({"_id": "t1"}) and results.find_one({"_id": "r1"})

            def half_then_fail(s):
                jobs.insert_one({"_id": "t2"}, session=s)
                raise RuntimeError("crash between the two writes")

            with client.start_session() as session, pytest.raises(RuntimeError):
                session.with_transaction(half_then_fail)
            assert jobs.find_one({"_id": "t2"}) is None
        finally:
            client.drop_database(database)
