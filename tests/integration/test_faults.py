"""The job lifecycle under faults, on a real local stack of its own (issue 6).

Each test makes one fault happen to real processes (kill -9, SIGTERM, SIGSTOP, a stopped
redis-server, a store that refuses writes, messages delivered several times) and asserts on
what it counts afterwards: GPU runs per job (worker logs), result rows (the SQLite file),
``completed``/``failed`` events (the user's SSE stream and the Redis event log), messages in
the DLQs, job states. Measured figures are printed (``-s``) and recorded as properties.
"""

from __future__ import annotations

import io
import os
import re
import signal
import sqlite3
import threading
import time
import uuid
from collections import Counter
from contextlib import contextmanager

import pytest
import requests

from graphnode.ops.dlq import describe
from graphnode.samples import load_sample_export
from tests.integration.conftest import wait_for
from tests.integration.faults import (
    FAULT_VISIBILITY_SECONDS,
    RECEIVES_BEFORE_DLQ,
    FaultStack,
    count_events,
    count_logged,
    new_user,
    report,
    settle,
    tiny_export,
    wait_embedding,
)

pytestmark = pytest.mark.integration

GENERATION_RESULT = "GRAPH_GENERATION_RESULT"
MICROSCOPE_RESULT = "MICROSCOPE_INGEST_RESULT"


@pytest.fixture(scope="module")
def faults(tmp_path_factory):
    stack = FaultStack.start(tmp_path_factory.mktemp("fault-stack"))
    try:
        yield stack
    finally:
        stack.stop_all()


@pytest.fixture(autouse=True)
def healthy_stack(faults):
    """Every test starts from the baseline (Redis up, one GPU worker, one result worker at
    -c 2) with empty DLQs, whatever the test before it killed."""
    faults.restore_baseline()
    faults.empty_dlqs()


def assert_one_effect(faults: FaultStack, events, user: str, task_id: str,
                      kind: str = "graph") -> None:
    """COMPLETED once: one result row, one ``completed`` event on SSE and in the log."""
    assert faults.job(task_id)["status"] == "COMPLETED"
    assert faults.result_rows(task_id, kind) == 1
    assert count_events(events.events, "completed", task_id) == 1
    assert count_logged(faults.logged_events(user), "completed", task_id) == 1


# --- 1. kill -9 of the GPU worker mid-job ---------------------------------------------------


def kill_gpu_worker_mid_job(faults: FaultStack, target: str, trials: int,
                            record_property) -> None:
    rerun_seconds = []
    for trial in range(trials):
        user = new_user(f"kill-{target}")
        events = faults.listen(user)
        task_id = faults.client(user).generate(load_sample_export())["taskId"]
        wait_embedding(events, task_id)
        if target == "child":
            (child,) = faults.pool_children("worker-req")
            died = time.monotonic()
            os.kill(child, signal.SIGKILL)
        else:
            died = faults.kill("worker-req")
            faults.start_worker("req")
        assert faults.job(task_id)["status"] != "COMPLETED", "the kill came after the job"
        rerun_seconds.append(round(faults.wait_gpu_runs(task_id, 2) - died, 2))
        assert faults.wait_final([task_id]) == {task_id: "COMPLETED"}, f"trial {trial}"
        events.wait_for("completed", task_id, timeout=30)
        settle()
        assert faults.gpu_runs(task_id) == 2, "one killed run and one rerun, no more"
        faults.wait_drained(faults.request_queue, 10)  # no copy left to run a third time
        assert_one_effect(faults, events, user, task_id)
    report(record_property, f"kill -9 gpu worker {target}", trials=trials, jobs_lost=0,
           duplicate_runs=0, duplicate_effects=0, death_to_rerun_seconds=rerun_seconds)


@pytest.mark.parametrize("target", ["child", "main"])
def test_gpu_worker_killed_mid_job_reruns_it_once(faults, target, record_property):
    kill_gpu_worker_mid_job(faults, target, 1, record_property)


@pytest.mark.long
@pytest.mark.parametrize("target", ["child", "main"])
def test_gpu_worker_killed_mid_job_three_times(faults, target, record_property):
    kill_gpu_worker_mid_job(faults, target, 3, record_property)


# --- 2. SIGTERM mid-job ---------------------------------------------------------------------


def test_sigterm_mid_job_runs_it_once_and_hands_over_only_reserved(faults, record_property):
    """A warm shutdown finishes the running job under its heartbeat; only the prefetched,
    not started message goes back at once, to the second worker (issue 6, item 1)."""
    # Reserved messages are not heartbeated: keep them invisible as the 300 s of the
    # real queue would, so that only the shutdown hands the reserved one over.
    faults.set_visibility(faults.request_queue, 120)
    faults.stop("worker-req")
    first = faults.start_worker("req", 1, name="worker-req-first", prefetch_multiplier=2)
    user = new_user("sigterm")
    events, client = faults.listen(user), faults.client(user)
    running = client.generate(load_sample_export())["taskId"]
    faults.wait_gpu_runs(running, 1, worker=first)
    reserved = client.generate(tiny_export(user))["taskId"]
    wait_for(lambda: faults.log_text(first).count("] received") == 2, 30,
             "the second job reserved by the first worker")
    wait_embedding(events, running)
    second = faults.start_worker("req")  # the baseline worker: takes over, then stays
    sigterm_at = faults.signal(first, signal.SIGTERM)
    takeover = faults.wait_gpu_runs(reserved, 1, worker=second, timeout=180) - sigterm_at
    assert faults.wait_final([running, reserved]) == {running: "COMPLETED",
                                                      reserved: "COMPLETED"}
    faults.wait_exit(first, 120)
    events.wait_for("completed", running, timeout=30)
    events.wait_for("completed", reserved, timeout=30)
    settle()
    runs = {"running": faults.gpu_runs(running), "reserved": faults.gpu_runs(reserved)}
    report(record_property, "sigterm mid-job", runs=runs,
           sigterm_to_takeover_seconds=round(takeover, 2))
    assert runs == {"running": 1, "reserved": 1}
    assert faults.gpu_runs(reserved, worker=second) == 1
    for task_id in (running, reserved):
        assert_one_effect(faults, events, user, task_id)


# --- 3. every result message delivered three times ------------------------------------------


def test_results_delivered_three_times_leave_the_store_as_one_delivery(faults, record_property):
    user = new_user("thrice")
    events = faults.listen(user)
    faults.stop("worker-res")
    task_id = faults.client(user).generate(tiny_export(user))["taskId"]
    bodies = faults.capture_until(faults.result_queue, GENERATION_RESULT, {task_id})
    for body in bodies:
        faults.send_raw(faults.result_queue, body)
    faults.start_worker("res", 2)
    faults.wait_drained(faults.result_queue)
    events.wait_for("completed", task_id, timeout=30)
    settle()
    once = faults.store_dump(user)
    for body in bodies:
        faults.send_raw(faults.result_queue, body, copies=2)
    faults.wait_drained(faults.result_queue)
    settle()
    # Byte for byte, updatedAt included: a delivery that finds the job final writes nothing.
    assert faults.store_dump(user) == once
    assert faults.dead_letters(faults.result_queue) == []
    logged = faults.logged_events(user)
    repeated = [e for e, n in Counter((kind, str(data)) for _, kind, data in logged).items()
                if n > 1]
    report(record_property, "results delivered three times", messages=len(bodies),
           deliveries=3 * len(bodies), duplicate_events=len(repeated))
    assert_one_effect(faults, events, user, task_id)
    assert repeated == []


# --- 4. a poison request --------------------------------------------------------------------


def test_a_poison_request_is_received_five_times_then_dead_lettered(faults, record_property):
    """The input object was archived (S3 Glacier): every get raises InvalidObjectState, an
    infrastructure error that is retried, never a clean JobFailed."""
    from graphnode.contract.messages import GraphGenerationRequest, TaskType
    from graphnode.contract.payloads import input_key, sha256_hex
    from graphnode.runtime.celery_app import create_celery_app
    from graphnode.runtime.sender import send_message
    from graphnode.stores import Job

    user, task_id = new_user("poison"), uuid.uuid4().hex
    events = faults.listen(user)
    data = b"[]"
    key = input_key(user, task_id)
    faults.aws("s3").put_object(Bucket=faults.settings.payload_bucket, Key=key, Body=data,
                                StorageClass="GLACIER", Metadata={"sha256": sha256_hex(data)})
    faults.store.create_job(
        Job(taskId=task_id, userId=user, taskType=TaskType.GRAPH_GENERATION_REQUEST,
            inputKey=key))
    sender = create_celery_app(faults.settings, worker=False)
    send_message(sender, TaskType.GRAPH_GENERATION_REQUEST, task_id,
                 GraphGenerationRequest(userId=user, inputKey=key, inputSha256=sha256_hex(data)))
    sent_at = time.monotonic()
    failed = events.wait_for("failed", task_id, timeout=180)
    failed_after = time.monotonic() - sent_at
    dead = wait_for(lambda: [m for m in faults.dead_letters(faults.request_queue)
                             if m["taskId"] == task_id], 60, "the request in the DLQ")
    settle()
    runs = faults.gpu_runs(task_id)
    # SQS counts the test's own first look into the DLQ as one more receive.
    report(record_property, "poison request", receives_before_dlq=runs,
           dlq_receive_count_at_first_peek=dead[0]["receives"],
           seconds_to_failed=round(failed_after, 1))
    assert runs == RECEIVES_BEFORE_DLQ
    assert len(dead) == 1
    assert faults.job(task_id)["status"] == "FAILED"
    assert "InvalidObjectState" in failed.data["error"]
    assert count_events(events.events, "failed", task_id) == 1
    assert count_logged(faults.logged_events(user), "failed", task_id) == 1
    faults.wait_drained(faults.request_queue, 10)


# --- 5. Redis down and frozen ---------------------------------------------------------------


def test_events_survive_a_redis_outage_past_five_receives(faults, record_property):
    user = new_user("outage")
    client, before_outage = faults.client(user), faults.listen(user)
    first = client.generate(tiny_export(user))["taskId"]
    last_seen = before_outage.wait_for("completed", first, timeout=120).id
    faults.stop("redis")
    down_at = time.monotonic()
    during = [client.generate(tiny_export(f"{user}-{i}"))["taskId"] for i in range(2)]
    assert faults.wait_final(during) == dict.fromkeys(during, "COMPLETED")
    faults.wait_drained(faults.result_queue, timeout=180)
    # Down for longer than five receives of a result take, whatever the retry policy.
    time.sleep(max(0.0, down_at + RECEIVES_BEFORE_DLQ * (FAULT_VISIBILITY_SECONDS + 1)
                   - time.monotonic()))
    dead_results = sum(m["taskType"] == GENERATION_RESULT
                       for m in faults.dead_letters(faults.result_queue))
    faults.dev.start_redis()
    outage = time.monotonic() - down_at
    live = faults.listen(user, last_event_id=last_seen)
    arrived = 0
    try:
        for task_id in during:
            live.wait_for("completed", task_id, timeout=45)
            arrived += 1
    finally:
        report(record_property, "redis outage", outage_seconds=round(outage, 1),
               results_dead_lettered=dead_results, completed_events_arrived=arrived,
               completed_events_lost=len(during) - arrived)
    settle()
    resumed = faults.listen(user, last_event_id=last_seen)
    wait_for(lambda: all(count_events(resumed.events, "completed", t) for t in during), 10,
             "the missed events replayed after Last-Event-ID")
    for task_id in during:
        assert count_events(live.events, "completed", task_id) == 1
        assert count_events(resumed.events, "completed", task_id) == 1
        assert_one_effect(faults, resumed, user, task_id)


def test_events_endpoint_answers_json_503_while_redis_is_frozen(faults, record_property):
    client = faults.client(new_user("frozen"))
    faults.signal("redis", signal.SIGSTOP)
    try:
        started = time.monotonic()
        try:
            response = client.session.get(f"{client.base_url}/v1/events", stream=True,
                                          timeout=(5, 20))
        except requests.Timeout:
            pytest.fail("GET /v1/events gave no answer within 20 s while Redis was frozen")
        answered = time.monotonic() - started
    finally:
        faults.signal("redis", signal.SIGCONT)
    report(record_property, "redis frozen", status=response.status_code,
           answered_seconds=round(answered, 2))
    assert response.status_code == 503
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"]


# --- 6. three copies of one result at once --------------------------------------------------


MARKDOWN_DOCUMENT = (
    "# Marie Curie\n\nMarie Curie studied radioactivity at the Sorbonne in Paris with "
    "Pierre Curie.\n\n마리 퀴리는 파리에서 방사능을 연구했다.\n").encode()


@pytest.mark.parametrize("result_type", [GENERATION_RESULT, MICROSCOPE_RESULT])
def test_three_copies_of_a_result_handled_at_once(faults, result_type, record_property):
    user = new_user("copies")
    events, client = faults.listen(user), faults.client(user)
    faults.stop("worker-res")
    if result_type == GENERATION_RESULT:
        task_id, kind = client.generate(tiny_export(user))["taskId"], "graph"
    else:
        group_id, kind = f"ws-{user}", "document-graph"
        response = client.session.post(
            f"{client.base_url}/v1/workspaces/{group_id}/documents",
            files={"file": ("curie.md", io.BytesIO(MARKDOWN_DOCUMENT))}, timeout=30)
        assert response.status_code == 202, response.text
        task_id = response.json()["taskId"]
    bodies = faults.capture_until(faults.result_queue, result_type, {task_id})
    (result,) = [b for b in bodies if describe(b)["taskType"] == result_type]
    # One slot more than the copies: a progress message of the job that comes back (one
    # was seen at receive 2) must not keep a copy out of the pool.
    faults.start_worker("res", 4)
    mark = faults.log_size("worker-res")
    # The three copies wait on the store's write lock until all three are in the pool, so
    # each has read the job before any of them writes: a race that only ordering decides
    # otherwise. The progress messages are left out; the job goes from PENDING to final.
    with store_write_locked(faults):
        faults.send_raw(faults.result_queue, result, copies=3)
        received = rf"{result_type}\[[^\]]+\] received"
        wait_for(lambda: len(re.findall(received, faults.log_text("worker-res", mark))) == 3,
                 30, "three copies in the pool at once")
        time.sleep(0.3)
        handled_before_unlock = faults.log_text("worker-res", mark).count("] succeeded")
    faults.wait_drained(faults.result_queue)
    events.wait_for("completed", task_id, timeout=30)
    settle()
    completed = count_events(events.events, "completed", task_id)
    notices = sum(1 for e in events.events if e.type == "workspace.completed")
    report(record_property, f"three copies at once ({result_type})",
           result_rows=faults.result_rows(task_id, kind), completed_events=completed,
           workspace_completed_events=notices)
    assert handled_before_unlock == 0, "a copy was handled before the others arrived"
    assert_one_effect(faults, events, user, task_id, kind)
    if result_type == MICROSCOPE_RESULT:
        assert notices == 1
        assert sum(kind == "workspace.completed" for _, kind, _ in
                   faults.logged_events(user)) == 1


# --- 7. a result dead-lettered because the store failed, then re-driven ---------------------


@contextmanager
def store_unavailable(faults: FaultStack):
    """The SQLite file (with its WAL) moved aside and a directory put in its place, so that
    every open fails at once ("unable to open database file"), for every process and as
    root too; done and undone only while nothing is using the store."""
    path = faults.store_path
    aside = path.parent / "store-aside"
    aside.mkdir()
    moved = [p for p in (path, path.with_name(path.name + "-wal"),
                         path.with_name(path.name + "-shm")) if p.exists()]
    for p in moved:
        p.rename(aside / p.name)
    path.mkdir()
    try:
        yield
    finally:
        path.rmdir()
        for p in moved:
            (aside / p.name).rename(p)
        aside.rmdir()


@contextmanager
def result_writes_refused(faults: FaultStack):
    """The store refuses to write result documents (a trigger aborts every insert, as a full
    disk would), while job updates still go through: the job can be marked FAILED."""
    with sqlite3.connect(faults.store_path) as db:
        db.execute("CREATE TRIGGER fault_refuse_results BEFORE INSERT ON results "
                   "BEGIN SELECT RAISE(ABORT, 'injected store failure'); END")
    try:
        yield
    finally:
        with sqlite3.connect(faults.store_path) as db:
            db.execute("DROP TRIGGER fault_refuse_results")


@pytest.mark.parametrize("failure", ["store unavailable", "result writes refused"])
def test_a_result_dead_lettered_by_a_store_failure_completes_on_redrive(faults, failure,
                                                                        record_property):
    user = new_user("redrive")
    events, client = faults.listen(user), faults.client(user)
    if failure == "store unavailable":
        faults.stop("worker-res")
        task_id = client.generate(tiny_export(user))["taskId"]
        bodies = faults.capture_until(faults.result_queue, GENERATION_RESULT, {task_id})
        with store_unavailable(faults):
            for body in bodies:
                faults.send_raw(faults.result_queue, body)
            faults.start_worker("res", 2)
            faults.wait_drained(faults.result_queue, timeout=180)
    else:
        with result_writes_refused(faults):
            task_id = client.generate(tiny_export(user))["taskId"]
            wait_for(lambda: any(m["taskId"] == task_id and m["taskType"] == GENERATION_RESULT
                                 for m in faults.dead_letters(faults.result_queue)),
                     180, "the result in the DLQ")
    status_before = faults.job(task_id)["status"]
    dead = [m for m in faults.dead_letters(faults.result_queue) if m["taskId"] == task_id]
    assert [m["taskType"] for m in dead].count(GENERATION_RESULT) == 1
    moved = faults.graphnode_cli("dlq", "redrive", faults.result_queue)
    faults.wait_drained(faults.result_queue)
    settle()
    report(record_property, f"redrive after {failure}", job_before_redrive=status_before,
           redrive=moved.strip(), job_after_redrive=faults.job(task_id)["status"])
    assert faults.job(task_id)["status"] == "COMPLETED"
    assert client.my_graph()["taskId"] == task_id
    events.wait_for("completed", task_id, timeout=30)
    assert_one_effect(faults, events, user, task_id)


# --- 8. kill -9 of the result worker mid-handling -------------------------------------------


@contextmanager
def store_write_locked(faults: FaultStack):
    """Another writer holds the SQLite write lock: a handler blocks on its first write."""
    db = sqlite3.connect(faults.store_path, isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        db.execute("ROLLBACK")
        db.close()


def test_result_worker_killed_mid_handling_loses_nothing_and_repeats_nothing(faults,
                                                                           record_property):
    from graphnode.contract.payloads import graph_key

    user = new_user("reskill")
    events = faults.listen(user)
    faults.stop("worker-res")
    task_id = faults.client(user).generate(tiny_export(user))["taskId"]
    bodies = faults.capture_until(faults.result_queue, GENERATION_RESULT, {task_id})
    (result,) = [b for b in bodies if describe(b)["taskType"] == GENERATION_RESULT]
    for body in bodies:
        if body is not result:
            faults.send_raw(faults.result_queue, body)
    faults.start_worker("res", 2)
    faults.wait_drained(faults.result_queue)  # the progress messages, handled
    s3, copied = faults.aws("s3"), graph_key(user, task_id, "features.json")

    def copy_made() -> bool:
        listed = s3.list_objects_v2(Bucket=faults.settings.payload_bucket, Prefix=copied)
        return listed.get("KeyCount", 0) > 0

    with store_write_locked(faults):
        faults.send_raw(faults.result_queue, result)
        wait_for(copy_made, 60, "the handler past its S3 copies, blocked on the store")
        time.sleep(0.3)
        killed_at = faults.kill("worker-res")
    mark = faults.log_size("worker-res")
    faults.start_worker("res", 2)
    wait_for(lambda: f"{GENERATION_RESULT}[" in faults.log_text("worker-res", mark), 60,
             "the result received again")
    redelivered = time.monotonic() - killed_at
    faults.wait_drained(faults.result_queue)
    events.wait_for("completed", task_id, timeout=30)
    settle()
    report(record_property, "result worker kill -9", death_to_redelivery_seconds=round(
        redelivered, 2), result_rows=faults.result_rows(task_id),
        completed_events=count_events(events.events, "completed", task_id))
    assert_one_effect(faults, events, user, task_id)


# --- 9. a burst of 300 jobs from 20 users ---------------------------------------------------


@pytest.mark.long
def test_a_burst_of_300_jobs_from_20_users(faults, record_property):
    users = [new_user(f"burst{i}") for i in range(20)]
    listeners = {user: faults.listen(user) for user in users}
    submitted: dict[str, list[str]] = {user: [] for user in users}

    def submit(user: str) -> None:
        client = faults.client(user)
        for j in range(15):
            submitted[user].append(client.generate(tiny_export(f"{user}-{j}"))["taskId"])

    started = time.monotonic()
    threads = [threading.Thread(target=submit, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    task_ids = [t for ids in submitted.values() for t in ids]
    assert len(task_ids) == 300
    statuses = faults.wait_final(task_ids, timeout=3600)
    for user, ids in submitted.items():
        wait_for(lambda ids=ids, user=user: all(
            count_events(listeners[user].events, "completed", t) for t in ids), 120,
            f"the completed events of {user}")
    settle()
    runs = faults.gpu_run_counts()
    duplicate_runs = sum(runs[t] - 1 for t in task_ids)
    foreign = sum(1 for user, listener in listeners.items() for e in listener.events
                  if e.data.get("taskId") not in submitted[user])
    duplicate_events = sum(count_events(listeners[u].events, "completed", t) - 1
                           for u, ids in submitted.items() for t in ids)
    report(record_property, "burst", jobs=len(task_ids),
           completed=sum(s == "COMPLETED" for s in statuses.values()),
           duplicate_runs=duplicate_runs, duplicate_events=duplicate_events,
           cross_user_events=foreign, seconds=round(time.monotonic() - started, 1))
    assert set(statuses.values()) == {"COMPLETED"}
    assert duplicate_runs == duplicate_events == foreign == 0


# --- 10. the result worker down while jobs complete -----------------------------------------


def result_worker_down_while_jobs_complete(faults: FaultStack, record_property, jobs: int,
                                           down_seconds: float) -> None:
    user = new_user("res-down")
    events, client = faults.listen(user), faults.client(user)
    faults.stop("worker-res")
    down_at = time.monotonic()
    task_ids = [client.generate(tiny_export(f"{user}-{n}"))["taskId"] for n in range(jobs)]
    faults.wait_drained(faults.request_queue, timeout=60 + 20 * jobs)  # every GPU run done
    waiting = faults.in_queue(faults.result_queue)
    time.sleep(max(0.0, down_seconds - (time.monotonic() - down_at)))
    back_at = time.monotonic()
    faults.start_worker("res", 2)
    statuses = faults.wait_final(task_ids, timeout=60 + 5 * jobs)
    caught_up = time.monotonic() - back_at
    wait_for(lambda: all(count_events(events.events, "completed", t) for t in task_ids), 60,
             "every completed event")
    settle()
    logged = faults.logged_events(user)
    # In order: each job's progress before its one completed event; a client resuming
    # from the first event is replayed exactly what followed it.
    for task_id in task_ids:
        kinds = [kind for _, kind, data in logged if data.get("taskId") == task_id]
        assert kinds.count("completed") == 1 and kinds[-1] == "completed", kinds
    resumed = faults.listen(user, last_event_id=logged[0][0])
    wait_for(lambda: len(resumed.events) >= len(logged) - 1, 30, "the replay")
    assert [e.id for e in resumed.events[:len(logged) - 1]] == [i for i, _, _ in logged[1:]]
    dead = faults.dead_letters(faults.result_queue)
    report(record_property, f"result worker down {down_seconds:.0f} s", jobs=jobs,
           results_waiting=waiting, completed=sum(s == "COMPLETED" for s in statuses.values()),
           failed=sum(s == "FAILED" for s in statuses.values()), dead_lettered=len(dead),
           duplicated=sum(faults.result_rows(t) - 1 for t in task_ids),
           caught_up_s=round(caught_up, 1))
    assert set(statuses.values()) == {"COMPLETED"}
    assert all(faults.result_rows(t) == 1 for t in task_ids)
    assert all(count_events(events.events, "completed", t) == 1 for t in task_ids)
    assert dead == []


def test_results_wait_for_a_result_worker_that_is_down(faults, record_property):
    result_worker_down_while_jobs_complete(faults, record_property, jobs=10, down_seconds=30)


@pytest.mark.long
@pytest.mark.timeout(1500)  # ten minutes down on purpose, past the default 600 s
def test_results_wait_ten_minutes_for_a_result_worker_that_is_down(faults, record_property):
    result_worker_down_while_jobs_complete(faults, record_property, jobs=50, down_seconds=600)


# --- 9. a long poll left open by a worker that stopped ---------------------------------------


def test_a_message_taken_by_a_stopped_workers_open_poll_returns_in_seconds(faults,
                                                                          record_property):
    """A worker that stops mid long poll leaves the receive open at SQS (and the emulator),
    which hands the next message to nobody. With graph-req's own 300 s timeout it stayed
    hidden five minutes; each receive now asks for one heartbeat window (2 s here)."""
    faults.set_visibility(faults.request_queue, 300)
    faults.stop("worker-req")  # a poll reads the queue's timeout when it opens: new ones
    faults.start_worker("req")
    sqs, url = faults.aws("sqs"), faults.queue_url(faults.request_queue)
    user = new_user("open-poll")
    client = faults.client(user)
    for _attempt in range(3):  # the stopped worker's poll may be about to end: try again
        time.sleep(2)  # the worker is between polls no more: one is open
        faults.stop("worker-req")
        task_id = client.generate(tiny_export(user))["taskId"]
        sent = time.monotonic()
        time.sleep(0.5)
        hidden = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
            "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        faults.start_worker("req")
        if int(hidden["ApproximateNumberOfMessagesNotVisible"]):
            break
        assert faults.wait_final([task_id], 120) == {task_id: "COMPLETED"}
    else:
        pytest.fail("no stopped worker's poll took the message in three tries")
    assert faults.wait_final([task_id], 60) == {task_id: "COMPLETED"}
    took = time.monotonic() - sent
    # Receive 2 or later: each worker stopped in the loop above may have left a poll open,
    # and each such poll takes (and hides for one window) a receive of its own.
    receive = re.search(f"running GRAPH_GENERATION_REQUEST {task_id} \\(receive (\\d+)\\)",
                        faults.log_text("worker-req"))
    assert receive and int(receive.group(1)) >= 2, "no stopped worker's poll took it first"
    assert faults.gpu_runs(task_id) == 1
    report(record_property, "a stopped worker's open poll took the message", jobs=1,
           completed=1, lost=0, duplicate_runs=0, submit_to_completed_seconds=round(took, 1))
    assert took < 30, "the message stayed hidden for the queue's timeout"


# --- 10. a heartbeat that comes too late ---------------------------------------------------


def freeze_gpu_worker_mid_job(faults: FaultStack, export: list, prefix: str):
    """Two GPU workers; a job under way on one, whose main process (and heartbeat) is then
    frozen while its pool child computes on. The user, events, job, frozen worker and the
    other, and when it froze."""
    second = faults.start_worker("req", name="worker-req-second")
    user = new_user(prefix)
    events = faults.listen(user)
    task_id = faults.client(user).generate(export)["taskId"]
    wait_embedding(events, task_id)
    frozen = "worker-req" if faults.gpu_runs(task_id, "worker-req") else second
    other = second if frozen == "worker-req" else "worker-req"
    return user, events, task_id, frozen, other, faults.signal(frozen, signal.SIGSTOP)


def assert_both_runs_handled(faults: FaultStack, events, user: str, task_id: str) -> None:
    wait_for(lambda: faults.in_queue(faults.request_queue) == 0
             and faults.in_queue(faults.result_queue) == 0, 120, "every message handled")
    settle()
    assert_one_effect(faults, events, user, task_id)
    assert faults.dead_letters(faults.request_queue) == []
    assert faults.dead_letters(faults.result_queue) == []


def test_a_late_heartbeat_after_the_run_ended_sends_its_result_again(faults, record_property):
    """The frozen worker's child finishes and sends its result; the message, unbeaten,
    comes back to the other worker (held still until then, so that the run ends first),
    which finds the result the run kept and sends that again instead of running the job a
    second time."""
    other_held = False
    user, events, task_id, frozen, other, frozen_at = freeze_gpu_worker_mid_job(
        faults, load_sample_export(), "late-ended")
    try:
        faults.signal(other, signal.SIGSTOP)
        other_held = True
        assert faults.wait_final([task_id], 120) == {task_id: "COMPLETED"}
        faults.signal(other, signal.SIGCONT)
        other_held = False
        # Receive 2 or later: while both workers were stopped, each one's open poll may
        # have taken a receive of its own (the job still runs once).
        resent = re.compile(rf"{task_id} \(receive \d+\): an earlier run sent its result")
        wait_for(lambda: resent.search(faults.log_text(other)), 60,
                 "the redelivered request to be answered")
        answered = time.monotonic() - frozen_at
    finally:
        faults.signal(frozen, signal.SIGCONT)
        if other_held:
            faults.signal(other, signal.SIGCONT)
    assert_both_runs_handled(faults, events, user, task_id)
    report(record_property, "late heartbeat, run ended", jobs=1, completed=1,
           gpu_runs=faults.gpu_runs(task_id), lost=0, duplicate_effects=0,
           freeze_to_resent_seconds=round(answered, 1),
           resends=faults.log_text(other).count(f"{task_id} (receive"))
    assert faults.gpu_runs(task_id) == 1


def test_a_late_heartbeat_mid_run_lets_a_second_run_happen_harmlessly(faults, record_property):
    """Frozen while a long job computes: the other worker runs it too, before the first
    run ends (a second run that cannot be ruled out). Both results arrive, one is applied,
    and the job says it was received more than once (attempts). The first run's pool process is
    held until the second run starts, as a job longer than the window would be: otherwise
    a fast machine ends the first run, and the other worker sends its result instead."""
    user, events, task_id, frozen, other, frozen_at = freeze_gpu_worker_mid_job(
        faults, load_sample_export(), "late-mid-run")
    first_run = faults.pool_children(frozen)
    for pid in first_run:
        os.kill(pid, signal.SIGSTOP)
    try:
        second_run = faults.wait_gpu_runs(task_id, 1, worker=other, timeout=60) - frozen_at
        assert faults.job(task_id)["status"] == "RUNNING", "the first run ended first"
    finally:
        for pid in first_run:
            os.kill(pid, signal.SIGCONT)
        faults.signal(frozen, signal.SIGCONT)
    assert faults.wait_final([task_id]) == {task_id: "COMPLETED"}
    assert_both_runs_handled(faults, events, user, task_id)
    job = faults.job(task_id)
    report(record_property, "late heartbeat, mid-run", jobs=1, completed=1,
           gpu_runs=faults.gpu_runs(task_id), attempts=job["attempts"], lost=0,
           duplicate_effects=0, freeze_to_second_run_seconds=round(second_run, 1))
    assert faults.gpu_runs(task_id) == 2
    # At least 2: the frozen worker's open long poll may take (and hide for one window) a
    # receive of its own that nobody reads, and the second run is then receive 3.
    assert job["attempts"] >= 2, "the job does not say it was run more than once"
