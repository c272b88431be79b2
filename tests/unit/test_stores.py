"""One contract suite for every Store adapter, each test against each of them:

- ``sqlite``: the embedded default, a SQLite file;
- ``mongodb-wire``: the MongoDB adapter over pymongo's real network path, against the
  ``mongo_uri`` server: nx-27017, a MongoDB wire-compatible server on SQLite (not MongoDB
  itself), or a real MongoDB when GRAPHNODE_TEST_MONGO_URI is set. Each test gets a
  database of its own, dropped afterwards.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator

import pytest

from graphnode.contract.messages import FailureKind, JobStatus, TaskType
from graphnode.stores import Job, JobExistsError, Outcome, ResultKind, Store


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


def complete(store, task_id, results=None, **fields):
    from graphnode.stores import Outcome

    return store.commit(Outcome(taskId=task_id, status=JobStatus.COMPLETED,
                                outputKeys={"graph": f"k/{task_id}"}, results=results or {},
                                **fields))


def test_create_and_get(store):
    store.create_job(new_job())
    job = store.get_job("t1")
    assert job.status == JobStatus.PENDING and job.userId == "alice" and job.attempts == 0
    with pytest.raises(JobExistsError):
        store.create_job(new_job())
    assert store.get_job("missing") is None


def test_progress_only_moves_forward_and_a_new_attempt_restarts_it(store):
    store.create_job(new_job())
    assert store.record_progress("t1", "embedding", 0.5)
    assert not store.record_progress("t1", "parsed", 0.2)  # late, redelivered
    assert store.record_progress("t1", "started", 0.01, attempt=2)
    assert not store.record_progress("t1", "embedding", 0.9, attempt=1)  # an older attempt
    job = store.get_job("t1")
    assert (job.status, job.stage, job.progress, job.attempts) == (
        JobStatus.RUNNING, "started", 0.01, 2)


def test_a_job_ends_once_with_its_results_and_event(store):
    store.create_job(new_job())
    committed = complete(store, "t1", {ResultKind.GRAPH: {"nodes": [1]}},
                         stats={"nodes": 1}, becomesCurrentGraph=True)
    assert committed.changed and committed.job.status == JobStatus.COMPLETED
    assert committed.job.progress == 1.0 and committed.job.outputKeys == {"graph": "k/t1"}
    again = complete(store, "t1", {ResultKind.GRAPH: {"nodes": [2]}}, becomesCurrentGraph=True)
    assert not again.changed
    assert store.get_result("t1", ResultKind.GRAPH).document == {"nodes": [1]}
    assert store.current_graph("alice") == "t1"
    [event] = store.pending_events()
    assert (event.eventId, event.type, event.userId) == ("t1:COMPLETED", "completed", "alice")
    assert event.data["stats"] == {"nodes": 1} and event.data["graphUrl"] == "/v1/graphs/me"
    assert store.commit(Outcome(taskId="missing", status=JobStatus.FAILED, error="x")) is None


def test_a_failure_is_final_unless_the_result_could_not_be_stored(store):
    from graphnode.contract.messages import FailureKind

    for task_id in ("bad-input", "not-stored"):
        store.create_job(new_job(task_id))
    store.commit(Outcome(taskId="bad-input", status=JobStatus.FAILED, error="bad input",
                         failure=FailureKind.INPUT))
    assert not complete(store, "bad-input").changed
    assert store.get_job("bad-input").error == "bad input"

    store.commit(Outcome(taskId="not-stored", status=JobStatus.FAILED, error="store down",
                         failure=FailureKind.RESULT_NOT_STORED))
    revived = complete(store, "not-stored", {ResultKind.SUMMARY: {"overview": {}}})
    assert revived.changed and revived.job.status == JobStatus.COMPLETED
    assert revived.job.error is None and revived.job.failure is None
    assert [e.eventId for e in store.pending_events()] == [
        "bad-input:FAILED", "not-stored:FAILED", "not-stored:COMPLETED"]


def test_add_nodes_commit_only_on_the_graph_they_extend(store):
    for task_id in ("g1", "g2", "add1"):
        store.create_job(new_job(task_id))
    complete(store, "g1", {ResultKind.GRAPH: {"v": 1}}, becomesCurrentGraph=True)
    complete(store, "g2", {ResultKind.GRAPH: {"v": 2}}, becomesCurrentGraph=True)
    assert store.get_job("g2").supersedes == "g1"
    stale = complete(store, "add1", {ResultKind.GRAPH: {"v": 3}}, becomesCurrentGraph=True,
                     baseGraphTaskId="g1")
    assert stale.job.status == JobStatus.FAILED and "graph changed" in stale.job.error
    assert store.current_graph("alice") == "g2"
    assert store.get_result("add1", ResultKind.GRAPH) is None


def test_concurrent_add_nodes_on_one_base_let_one_win(store, request):
    from concurrent.futures import ThreadPoolExecutor

    if "mongodb-wire" in request.node.name and not os.environ.get("GRAPHNODE_TEST_MONGO_URI"):
        pytest.skip("nx-27017 cannot run concurrent transactions (its SQLite savepoints clash: "
                    "'no such savepoint'); MongoDB serialises them by write conflict")
    for task_id in ("base", "a1", "a2", "a3", "gen"):
        store.create_job(new_job(task_id))
    complete(store, "base", {ResultKind.GRAPH: {}}, becomesCurrentGraph=True)
    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(
            lambda task_id: complete(store, task_id, {ResultKind.GRAPH: {}},
                                     becomesCurrentGraph=True,
                                     baseGraphTaskId=None if task_id == "gen" else "base"),
            ["a1", "a2", "a3", "gen"]))
    won = [o.job.taskId for o in outcomes if o.job.status == JobStatus.COMPLETED]
    adds_won = [task_id for task_id in won if task_id != "gen"]
    assert len(adds_won) <= 1 and "gen" in won
    # The current graph is one that committed last on a consistent chain.
    assert store.current_graph("alice") in won


def test_outbox_keeps_events_until_sent(store):
    from graphnode.contract.lifecycle import OutboxEvent

    event = OutboxEvent(eventId="ws:1", userId="alice", type="workspace.completed", data={})
    assert store.add_event(event) and not store.add_event(event)
    assert [e.eventId for e in store.pending_events()] == ["ws:1"]
    store.mark_event_sent("ws:1")
    store.mark_event_sent("ws:1")
    assert store.pending_events() == []


def test_results_and_jobs_in_a_scope(store):
    for user, task_id in (("alice", "d1"), ("alice", "d2"), ("bob", "d3")):
        store.create_job(Job(taskId=task_id, userId=user, scope="ws1",
                             taskType=TaskType.MICROSCOPE_INGEST_REQUEST))
        complete(store, task_id, {ResultKind.DOCUMENT_GRAPH: {"doc": task_id}}, scope="ws1")
    assert [r.taskId for r in store.results_in_scope("alice", ResultKind.DOCUMENT_GRAPH, "ws1")] \
        == ["d1", "d2"]
    assert [j.taskId for j in store.jobs_in_scope("alice", "ws1")] == ["d1", "d2"]
    assert store.latest_result("alice", ResultKind.DOCUMENT_GRAPH, "ws1").taskId == "d2"
    assert store.latest_result("carol", ResultKind.GRAPH) is None


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



def test_a_graph_stored_before_current_graphs_were_recorded_is_still_current(store):
    """Deployed over an older store: its users keep their graph, and add-node extends it."""
    store.create_job(new_job("legacy"))
    store.create_job(new_job("add1"))
    complete(store, "legacy", {ResultKind.GRAPH: {"v": 1}})  # no current-graph record
    assert store.current_graph("alice") == "legacy"
    added = complete(store, "add1", {ResultKind.GRAPH: {"v": 2}}, becomesCurrentGraph=True,
                     baseGraphTaskId="legacy")
    assert added.job.status == JobStatus.COMPLETED and store.current_graph("alice") == "add1"


def test_a_late_result_of_an_older_graph_job_does_not_replace_a_newer_graph(store):
    from graphnode.contract.messages import FailureKind

    store.create_job(new_job("older"))
    store.create_job(new_job("newer"))
    store.commit(Outcome(taskId="older", status=JobStatus.FAILED, error="store down",
                         failure=FailureKind.RESULT_NOT_STORED))
    complete(store, "newer", {ResultKind.GRAPH: {"v": 2}}, becomesCurrentGraph=True)
    revived = complete(store, "older", {ResultKind.GRAPH: {"v": 1}}, becomesCurrentGraph=True)
    assert revived.job.status == JobStatus.COMPLETED and store.current_graph("alice") == "newer"


def test_job_counts_by_type_and_state_and_the_oldest_pending(store):
    assert store.job_counts().by_type == {}
    assert store.job_counts().oldest_pending_at is None
    for task_id in ("a", "b", "c"):
        store.create_job(new_job(task_id))
    store.create_job(Job(taskId="s", userId="alice", taskType=TaskType.GRAPH_SUMMARY_REQUEST))
    complete(store, "a")
    store.record_progress("b", "embed", 0.5)
    counts = store.job_counts()
    assert counts.by_type == {
        "GRAPH_GENERATION_REQUEST": {"COMPLETED": 1, "RUNNING": 1, "PENDING": 1},
        "GRAPH_SUMMARY_REQUEST": {"PENDING": 1},
    }
    assert counts.oldest_pending_at == store.get_job("c").createdAt


def test_sqlite_keeps_one_connection_per_thread_and_a_forked_child_opens_its_own(
        sqlite_adapter):
    import threading

    def job(task_id: str) -> Job:
        return Job(taskId=task_id, userId="alice", taskType=TaskType.GRAPH_SUMMARY_REQUEST)

    sqlite_adapter.create_job(job("parent"))
    here = sqlite_adapter._connection()
    assert sqlite_adapter._connection() is here
    elsewhere = []
    thread = threading.Thread(target=lambda: elsewhere.append(sqlite_adapter._connection()))
    thread.start()
    thread.join()
    assert elsewhere[0] is not here
    child = os.fork()
    if child == 0:  # never use the inherited connection: write through one of the child's
        try:
            sqlite_adapter.create_job(job("child"))
            os._exit(0 if sqlite_adapter._connection() is not here else 1)
        except BaseException:
            os._exit(2)
    assert os.waitpid(child, 0)[1] == 0
    assert sqlite_adapter.get_job("child") is not None
    assert sqlite_adapter._connection() is here


def test_one_process_never_gives_two_moments_the_same_millisecond():
    from graphnode.stores.base import utcnow

    moments = [utcnow() for _ in range(50)]
    assert all(m.microsecond % 1000 == 0 for m in moments)
    assert all(a < b for a, b in itertools.pairwise(moments))


def test_unfinished_jobs_are_the_pending_and_running_ones(store):
    for task_id in ("pending", "running", "done", "failed"):
        store.create_job(new_job(task_id))
    store.record_progress("running", "embedding", 0.3)
    complete(store, "done")
    store.commit(Outcome(taskId="failed", status=JobStatus.FAILED, error="no"))
    unfinished = {job.taskId: job.status for job in store.unfinished_jobs()}
    assert unfinished == {"pending": JobStatus.PENDING, "running": JobStatus.RUNNING}


def job_in(store, task_id, status, failure=None):
    """A job brought to ``status`` through the store's own calls."""
    store.create_job(new_job(task_id))
    if status == JobStatus.RUNNING:
        store.record_progress(task_id, "embedding", 0.5)
    elif status == JobStatus.COMPLETED:
        complete(store, task_id)
    elif status == JobStatus.FAILED:
        store.commit(Outcome(taskId=task_id, status=status, failure=failure, error="x"))


STARTS = [(JobStatus.PENDING, None), (JobStatus.RUNNING, None), (JobStatus.COMPLETED, None),
          *[(JobStatus.FAILED, kind) for kind in FailureKind]]


@pytest.mark.parametrize(("status", "failure"), STARTS,
                         ids=[f"{s.value}-{f.value if f else ''}" for s, f in STARTS])
def test_every_adapter_moves_a_job_exactly_as_the_transitions_table_says(store, status, failure):
    """From each state, each change tried: the adapter makes it if and only if
    ``lifecycle.TRANSITIONS`` lists it (``may_end`` adds the revivable failures' rule)."""
    from graphnode.contract.lifecycle import ALLOWED, may_end

    for n, target in enumerate((JobStatus.RUNNING, JobStatus.COMPLETED, JobStatus.FAILED)):
        task_id = f"t{n}"
        job_in(store, task_id, status, failure)
        before = store.get_job(task_id)
        if target == JobStatus.RUNNING:
            changed = store.record_progress(task_id, "edges", 0.9)
            expected = (status, target) in ALLOWED
        else:
            outcome = Outcome(taskId=task_id, status=target, error="y",
                              failure=FailureKind.INPUT if target == JobStatus.FAILED else None)
            changed = store.commit(outcome).changed
            expected = may_end(before.status, before.failure, target)
        assert changed is expected, (status, failure, target)
        assert store.get_job(task_id).status == (target if expected else before.status)


@pytest.mark.parametrize(("attempts", "progress", "attempt", "new_progress"), [
    (1, 0.5, 1, 0.6), (1, 0.5, 1, 0.5), (1, 0.5, 1, 0.2), (1, 0.5, 2, 0.01), (2, 0.3, 1, 0.9),
])
def test_every_adapter_applies_the_progress_rule_of_the_lifecycle(
        store, attempts, progress, attempt, new_progress):
    from graphnode.contract.lifecycle import may_progress

    store.create_job(new_job())
    assert store.record_progress("t1", "stage", progress, attempt=attempts)
    expected = may_progress(JobStatus.RUNNING, attempts, progress, attempt, new_progress)
    assert store.record_progress("t1", "later", new_progress, attempt=attempt) is expected
    job = store.get_job("t1")
    assert (job.attempts, job.progress) == ((attempt, new_progress) if expected
                                            else (attempts, progress))
