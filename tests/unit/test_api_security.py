"""Security and limits of the API, with Flask's test client: tokens, other users' data, a
busy store, hostile request bodies. What only gunicorn does is in
tests/integration/test_api_limits.py."""

from __future__ import annotations

import io
import json
import sqlite3
import time

import jwt
import pytest

from graphnode.api.errors import STORE_BUSY_RETRY_AFTER
from graphnode.contract.messages import JobStatus
from graphnode.contract.tokens import mint_token
from graphnode.settings import (
    LOCAL_ONLY_JWT_SECRET,
    ApiSettings,
    ResultWorkerSettings,
    refuse_public_jwt_secret,
)
from graphnode.stores import Outcome, ResultKind

# The fixtures of test_api: settings, sent, app, client.
from tests.unit.test_api import EXPORT, app, auth, client, sent, settings  # noqa: F401

SECRET = "test-secret-0123456789abcdef0123456789"


# --- the public default secret ----------------------------------------------------------------


@pytest.mark.parametrize("endpoint", [None, "https://sqs.eu-west-1.amazonaws.com",
                                      "http://10.0.0.5:4566", "http://127.0.0.1.evil.com:4566"])
def test_the_public_secret_is_refused_outside_the_local_stack(endpoint):
    settings = ApiSettings(aws_endpoint_url=endpoint)
    with pytest.raises(RuntimeError, match="GRAPHNODE_JWT_SECRET") as refused:
        refuse_public_jwt_secret(settings)
    assert "public" in str(refused.value)


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:4566", "http://localhost:5000",
                                      "http://[::1]:4566"])
def test_the_public_secret_is_allowed_with_the_local_emulator(endpoint):
    refuse_public_jwt_secret(ApiSettings(aws_endpoint_url=endpoint))


def test_a_real_secret_is_allowed_anywhere():
    refuse_public_jwt_secret(ApiSettings(jwt_secret=SECRET))


def test_the_api_refuses_to_start_with_the_public_secret(tmp_path, monkeypatch):
    from graphnode.api import create_app

    monkeypatch.delenv("GRAPHNODE_JWT_SECRET", raising=False)
    monkeypatch.delenv("GRAPHNODE_AWS_ENDPOINT_URL", raising=False)
    with pytest.raises(RuntimeError, match="refusing to start"):
        create_app(ApiSettings(store_url=f"sqlite:///{tmp_path / 'x.db'}"))
    assert ApiSettings().jwt_secret.get_secret_value() == LOCAL_ONLY_JWT_SECRET


# --- one SQLite file for every role -----------------------------------------------------------


def test_the_default_sqlite_path_is_made_absolute_once(tmp_path, monkeypatch):
    monkeypatch.delenv("GRAPHNODE_STORE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    api, results = ApiSettings(), ResultWorkerSettings()
    monkeypatch.chdir("/")  # a later chdir changes nothing
    expected = f"sqlite:///{tmp_path.resolve() / 'graphnode.db'}"
    assert api.store_url == results.store_url == expected


def test_only_relative_sqlite_paths_change(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert ApiSettings(store_url="sqlite:///data/x.db").store_url == \
        f"sqlite:///{tmp_path.resolve() / 'data' / 'x.db'}"
    assert ApiSettings(store_url="sqlite:////srv/x.db").store_url == "sqlite:////srv/x.db"
    assert ResultWorkerSettings(store_url="mongodb://db/graphnode").store_url == \
        "mongodb://db/graphnode"


def test_devstack_with_a_relative_workdir_uses_absolute_paths(tmp_path, monkeypatch):
    from pathlib import Path

    from graphnode.ops.devstack import DevStack

    monkeypatch.chdir(tmp_path)
    dev = DevStack(Path("stack"), ports={"aws": 1, "redis": 2, "api": 3})
    assert dev.workdir == tmp_path.resolve() / "stack"
    assert dev.env["GRAPHNODE_STORE_URL"] == f"sqlite:///{tmp_path.resolve()}/stack/graphnode.db"


# --- tokens -----------------------------------------------------------------------------------


def _token(claims, key=SECRET, algorithm="HS256"):
    return {"Authorization": f"Bearer {jwt.encode(claims, key, algorithm)}"}


def _refused(client, headers):  # noqa: F811
    response = client.get("/v1/graphs/me", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
    return response.get_json()["error"]["message"]


def test_an_expired_token_is_refused(client, settings):  # noqa: F811
    assert "expired" in _refused(client, _token({"sub": "alice", "exp": int(time.time()) - 5}))
    assert "expired" in _refused(client, {"Authorization":
                                          f"Bearer {mint_token(settings, 'alice', -5)}"})


def test_a_token_signed_with_another_secret_is_refused(client):  # noqa: F811
    _refused(client, _token({"sub": "alice", "exp": int(time.time()) + 60},
                            key="another-secret-0123456789abcdef0123"))


def test_an_unsigned_alg_none_token_is_refused(client):  # noqa: F811
    claims = {"sub": "alice", "exp": int(time.time()) + 60}
    _refused(client, _token(claims, key=None, algorithm="none"))
    # the same, hand-made with an empty signature
    header = jwt.utils.base64url_encode(b'{"alg":"none","typ":"JWT"}').decode()
    body = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    _refused(client, {"Authorization": f"Bearer {header}.{body}."})


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_another_algorithm_with_the_right_secret_is_refused(client):  # noqa: F811
    _refused(client, _token({"sub": "alice", "exp": int(time.time()) + 60}, algorithm="HS512"))


@pytest.mark.parametrize("claims", [
    {"exp": 4_000_000_000},                       # no subject
    {"sub": "alice"},                             # no expiry
    {"sub": 42, "exp": 4_000_000_000},            # subject not a string
    {"sub": "../bob", "exp": 4_000_000_000},      # subject not a user id
])
def test_a_token_without_a_valid_subject_or_expiry_is_refused(client, claims):  # noqa: F811
    _refused(client, _token(claims))


def test_a_query_token_is_only_for_the_event_stream(client, settings):  # noqa: F811
    token = mint_token(settings, "alice")
    assert client.get(f"/v1/graphs/me?access_token={token}").status_code == 401
    assert client.get(f"/v1/jobs/x?access_token={token}").status_code == 401
    bad = mint_token(ApiSettings(jwt_secret="another-secret-0123456789abcdef0123"), "alice")
    assert client.get(f"/v1/events?access_token={bad}").status_code == 401


# --- another user's data is absent ------------------------------------------------------------


def test_another_users_data_is_not_found(client, settings, app, sent):  # noqa: F811
    store = app.extensions["graphnode"].store
    graph_job = client.post("/v1/graphs/generate", json=EXPORT,
                            headers=auth(settings, "bob")).get_json()["taskId"]
    store.commit(Outcome(taskId=graph_job, status=JobStatus.COMPLETED,
                         outputKeys={"graph": "results/b/g/graph.json",
                                     "features": "results/b/g/features.json"},
                         results={ResultKind.GRAPH: {"nodes": [], "edges": []}},
                         becomesCurrentGraph=True))
    summary_job = client.post("/v1/graphs/me/summary",
                              headers=auth(settings, "bob")).get_json()["taskId"]
    store.commit(Outcome(taskId=summary_job, status=JobStatus.COMPLETED,
                         outputKeys={"summary": "results/b/s/summary.json"},
                         results={ResultKind.SUMMARY: {"overview": "bob's"}}))
    upload = {"file": (io.BytesIO(b"# Bob's notes\nprivate"), "notes.md")}
    document = client.post("/v1/workspaces/space1/documents", data=upload,
                           headers=auth(settings, "bob"),
                           content_type="multipart/form-data").get_json()["documentId"]
    bob, alice = auth(settings, "bob"), auth(settings, "alice")
    urls = [f"/v1/jobs/{graph_job}", f"/v1/jobs/{graph_job}/result",
            f"/v1/jobs/{summary_job}/result", f"/v1/jobs/{document}",
            "/v1/graphs/me", "/v1/graphs/me/summary", "/v1/workspaces/space1"]
    for url in urls:
        assert client.get(url, headers=bob).status_code == 200, url
        response = client.get(url, headers=alice)
        assert response.status_code == 404, url
        assert "bob" not in response.get_data(as_text=True).lower(), url
    # alice cannot build on bob's graph either
    assert client.post("/v1/graphs/me/summary", headers=alice).status_code == 404
    assert client.post("/v1/graphs/me/nodes", json=EXPORT, headers=alice).status_code == 404


def test_the_event_stream_is_the_token_owners_own(client, settings, monkeypatch):  # noqa: F811
    streamed_for = []

    def fake_stream(redis, user_id, last_event_id, keepalive):
        streamed_for.append(user_id)
        yield f"event: hello\ndata: {user_id}\n\n"

    monkeypatch.setattr("graphnode.api.events.open_event_stream", fake_stream)
    alice = mint_token(settings, "alice")
    by_header = client.get("/v1/events", headers={"Authorization": f"Bearer {alice}"})
    by_query = client.get(f"/v1/events?access_token={alice}&userId=bob")
    assert by_header.status_code == by_query.status_code == 200
    assert by_query.get_data(as_text=True) == "event: hello\ndata: alice\n\n"
    assert streamed_for == ["alice", "alice"]


# --- a busy store -----------------------------------------------------------------------------


@pytest.fixture
def locked_store(app):  # noqa: F811
    """Another writer holds the API's SQLite file (as the result worker might)."""
    path = app.extensions["graphnode"].store.path
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    yield
    holder.execute("ROLLBACK")
    holder.close()


@pytest.fixture
def settings(tmp_path):  # noqa: F811 - test_api's, with a short busy timeout
    return ApiSettings(jwt_secret=SECRET, store_url=f"sqlite:///{tmp_path / 'api.db'}",
                       payload_bucket="test-bucket", redis_url="redis://127.0.0.1:1/0",
                       store_busy_timeout_seconds=0.3)


def test_a_busy_store_is_a_fast_503_with_retry_after(client, settings, sent, locked_store):  # noqa: F811
    started = time.monotonic()
    response = client.post("/v1/graphs/generate", json=EXPORT, headers=auth(settings))
    assert time.monotonic() - started < 2
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(STORE_BUSY_RETRY_AFTER)
    assert response.get_json()["error"]["code"] == "store_busy"
    assert sent == []
    assert client.get("/healthz").status_code == 200


def test_reads_go_on_while_another_writer_holds_the_store(client, settings, app, sent):  # noqa: F811
    task_id = client.post("/v1/graphs/generate", json=EXPORT,
                          headers=auth(settings)).get_json()["taskId"]
    holder = sqlite3.connect(app.extensions["graphnode"].store.path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        assert client.get(f"/v1/jobs/{task_id}", headers=auth(settings)).status_code == 200
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert client.post("/v1/graphs/generate", json=EXPORT,
                       headers=auth(settings)).status_code == 202


def test_other_store_errors_stay_500(client, settings, app, monkeypatch):  # noqa: F811
    def broken(*args):
        raise sqlite3.OperationalError("no such table: jobs")

    monkeypatch.setattr(app.extensions["graphnode"].store, "get_job", broken)
    response = client.get("/v1/jobs/abc", headers=auth(settings))
    assert response.status_code == 500
    assert "Retry-After" not in response.headers


def test_under_gevent_a_busy_wait_does_not_stop_other_greenlets(tmp_path):
    """sqlite3 waits for a lock in C; in the hub's thread pool the hub keeps running."""
    gevent = pytest.importorskip("gevent")
    from graphnode.api.offload import ThreadPoolStore, cooperative_store
    from graphnode.contract.messages import TaskType
    from graphnode.stores import Job
    from graphnode.stores.sqlite import SQLiteStore

    store = SQLiteStore(tmp_path / "s.db", busy_timeout=0.5)
    assert cooperative_store(store) is store  # this test process is not gevent-patched
    holder = sqlite3.connect(store.path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")

    def ticks_while(call) -> int:
        ticks = 0

        def ticker():
            nonlocal ticks
            while True:
                gevent.sleep(0.01)
                ticks += 1

        background = gevent.spawn(ticker)
        gevent.sleep(0)
        job = Job(taskId="t1", userId="alice", taskType=TaskType.GRAPH_GENERATION_REQUEST)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            gevent.spawn(call, job).get()
        background.kill()
        return ticks

    try:
        assert ticks_while(store.create_job) <= 2  # the plain call stalls the hub
        assert ticks_while(ThreadPoolStore(store).create_job) >= 20
    finally:
        holder.execute("ROLLBACK")
        holder.close()


# --- hostile bodies ---------------------------------------------------------------------------


def _json_4xx(response, status, code):
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert json.loads(response.get_data())["error"]["code"] == code


def test_a_lone_surrogate_is_a_400(client, settings, sent):  # noqa: F811
    body = '[{"title": "\\ud800", "mapping": {}, "current_node": null}]'
    response = client.post("/v1/graphs/generate", data=body, headers=auth(settings),
                           content_type="application/json")
    _json_4xx(response, 400, "invalid_json")
    assert sent == []


def test_json_nested_5000_deep_is_a_400(client, settings, sent):  # noqa: F811
    body = "[" * 5000 + "]" * 5000
    response = client.post("/v1/graphs/generate", data=body, headers=auth(settings),
                           content_type="application/json")
    _json_4xx(response, 400, "invalid_json")


@pytest.mark.parametrize("event_id", [f"{2**64}-0", f"0-{2**64}", "9" * 20 + "-0"])
def test_a_last_event_id_beyond_64_bits_is_a_400(client, settings, event_id):  # noqa: F811
    for kwargs in ({"headers": {**auth(settings), "Last-Event-ID": event_id}},
                   {"headers": auth(settings), "query_string": {"lastEventId": event_id}}):
        _json_4xx(client.get("/v1/events", **kwargs), 400, "invalid_last_event_id")


def test_the_largest_event_id_is_accepted(client, settings, monkeypatch):  # noqa: F811
    resumed_after = []

    def fake_stream(redis, user_id, last_event_id, keepalive):
        resumed_after.append(last_event_id)
        yield ": ok\n\n"

    monkeypatch.setattr("graphnode.api.events.open_event_stream", fake_stream)
    biggest = f"{2**64 - 1}-{2**64 - 1}"
    response = client.get("/v1/events", headers={**auth(settings), "Last-Event-ID": biggest})
    assert response.status_code == 200 and response.get_data() and resumed_after == [biggest]


@pytest.mark.parametrize("url", ["/v1/jobs/" + "a" * 5000, "/v1/jobs/" + "a" * 65 + "/result",
                                 "/v1/jobs/a.b"])
def test_an_impossible_job_id_is_a_json_404_that_does_not_echo_it(client, settings, url):  # noqa: F811
    response = client.get(url, headers=auth(settings))
    _json_4xx(response, 404, "not_found")
    assert "a" * 65 not in response.get_data(as_text=True)


@pytest.mark.parametrize("options", [{"minClusters": True}, {"maxClusters": 4.0},
                                     {"minClusters": "2"}])
def test_cluster_counts_must_be_json_integers(client, settings, sent, options):  # noqa: F811
    response = client.post("/v1/graphs/generate", json={"conversations": EXPORT, **options},
                           headers=auth(settings))
    _json_4xx(response, 400, "invalid_options")
    assert sent == []


def test_cluster_counts_in_the_query_string_are_still_read(client, settings, sent):  # noqa: F811
    response = client.post("/v1/graphs/generate?minClusters=2&maxClusters=4",
                           json={"conversations": EXPORT}, headers=auth(settings))
    assert response.status_code == 202
    assert (sent[0][2].minClusters, sent[0][2].maxClusters) == (2, 4)
    _json_4xx(client.post("/v1/graphs/generate?minClusters=true", json=EXPORT,
                          headers=auth(settings)), 400, "invalid_options")


def test_a_300_character_file_name_keeps_its_extension(client, settings, sent, app):  # noqa: F811
    name = "n" * 300 + ".md"
    response = client.post("/v1/workspaces/ws1/documents",
                           data={"file": (io.BytesIO(b"# Notes\nsome text"), name)},
                           headers=auth(settings), content_type="multipart/form-data")
    assert response.status_code == 202, response.get_json()
    stored = sent[0][2].fileName
    assert stored.endswith(".md") and len(stored) == 200 and stored.startswith("nnn")


def _post_chunked(app, settings, stream):  # noqa: F811
    """POST a body as gunicorn hands on a chunked one: no Content-Length, input terminated.
    (The test client always sets a length, so the app is called directly.)"""
    from werkzeug.test import EnvironBuilder, run_wsgi_app
    from werkzeug.wrappers import Response

    environ = EnvironBuilder(path="/v1/graphs/generate", method="POST",
                             headers=auth(settings), content_type="application/json",
                             ).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ.update({"wsgi.input": stream, "wsgi.input_terminated": True,
                    "HTTP_TRANSFER_ENCODING": "chunked"})
    body, status, headers = run_wsgi_app(app, environ, buffered=True)
    return Response(b"".join(body), status, headers)


def test_a_chunked_body_over_the_limit_is_a_413(app, settings, sent):  # noqa: F811
    app.config["MAX_CONTENT_LENGTH"] = 1000
    read = []

    class Endless(io.RawIOBase):
        def readable(self):
            return True

        def readinto(self, buffer):
            read.append(len(buffer))
            buffer[:] = b"x" * len(buffer)
            return len(buffer)

    response = _post_chunked(app, settings, io.BufferedReader(Endless()))
    _json_4xx(response, 413, "request_entity_too_large")
    assert "1000 bytes" in json.loads(response.get_data())["error"]["message"]
    assert sum(read) < 100_000  # refused at the limit, not after reading everything
    assert sent == []


def test_a_chunked_body_within_the_limit_is_read_whole(app, settings, sent):  # noqa: F811
    body = io.BytesIO(json.dumps(EXPORT).encode())
    response = _post_chunked(app, settings, body)
    assert response.status_code == 202


def disk_full_error() -> sqlite3.OperationalError:
    """The error SQLite itself raises when a write finds no room (SQLITE_FULL)."""
    db = sqlite3.connect(":memory:")
    db.execute("PRAGMA max_page_count = 1")
    try:
        db.execute("CREATE TABLE t (x)")
        db.execute("INSERT INTO t VALUES (randomblob(10000))")
    except sqlite3.OperationalError as exc:
        return exc
    finally:
        db.close()
    raise AssertionError("SQLite found room in one page")


def test_a_full_store_is_a_503_with_retry_after_and_records_nothing(
        client, settings, app, sent, monkeypatch):  # noqa: F811
    from graphnode.api.errors import STORE_FULL_RETRY_AFTER

    full = disk_full_error()
    assert full.sqlite_errorcode == sqlite3.SQLITE_FULL
    store = app.extensions["graphnode"].store

    def no_room(job):
        raise full

    monkeypatch.setattr(store, "create_job", no_room)
    response = client.post("/v1/graphs/generate", json=EXPORT, headers=auth(settings))
    assert response.status_code == 503, response.get_json()
    assert response.headers["Retry-After"] == str(STORE_FULL_RETRY_AFTER)
    assert response.get_json()["error"]["code"] == "store_full"
    assert sent == []
    monkeypatch.delattr(store, "create_job")  # room again
    assert client.post("/v1/graphs/generate", json=EXPORT,
                       headers=auth(settings)).status_code == 202
