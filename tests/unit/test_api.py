"""The Flask API against in-process fakes: moto's S3 mock, a recording queue, SQLite."""

from __future__ import annotations

import io
import json

import pytest
from moto import mock_aws

from graphnode.contract.messages import JobStatus, TaskType, parse_envelope
from graphnode.contract.tokens import mint_token
from graphnode.settings import ApiSettings
from graphnode.stores import Outcome, ResultKind

EXPORT = [{"title": "t", "mapping": {"a": {"id": "a", "message": None, "parent": None,
                                          "children": []}}, "current_node": "a"}]


@pytest.fixture
def settings(tmp_path):
    return ApiSettings(jwt_secret="test-secret-0123456789abcdef0123456789",
                       store_url=f"sqlite:///{tmp_path / 'api.db'}",
                       payload_bucket="test-bucket", redis_url="redis://127.0.0.1:1/0")


@pytest.fixture
def sent(monkeypatch):
    messages = []
    monkeypatch.setattr("graphnode.api.jobs.send_message",
                        lambda app, task_type, task_id, payload: messages.append(
                            (task_type, task_id, payload)))
    return messages


@pytest.fixture
def app(settings, sent):
    with mock_aws():
        import boto3

        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="test-bucket")
        from graphnode.api import create_app

        yield create_app(settings)


@pytest.fixture
def client(app):
    return app.test_client()


def auth(settings, user="alice"):
    return {"Authorization": f"Bearer {mint_token(settings, user)}"}


def test_generate_accepts_json_and_stores_the_input(client, settings, sent, app):
    response = client.post("/v1/graphs/generate?maxClusters=5", json=EXPORT,
                           headers=auth(settings))
    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "PENDING"
    assert response.headers["Location"] == body["statusUrl"] == f"/v1/jobs/{body['taskId']}"
    task_type, task_id, payload = sent[0]
    assert task_type == TaskType.GRAPH_GENERATION_REQUEST and task_id == body["taskId"]
    assert payload.userId == "alice" and payload.maxClusters == 5
    assert "alice" not in payload.inputKey  # keys come from ids, never from user strings
    services = app.extensions["graphnode"]
    assert services.payloads.get_json(payload.inputKey, payload.inputSha256) == EXPORT
    assert services.store.get_job(task_id).status == JobStatus.PENDING


def test_generate_accepts_a_multipart_file(client, settings, sent):
    data = {"file": (io.BytesIO(json.dumps(EXPORT).encode()), "conversations.json"),
            "minClusters": "2"}
    response = client.post("/v1/graphs/generate", data=data, headers=auth(settings),
                           content_type="multipart/form-data")
    assert response.status_code == 202
    assert sent[0][2].minClusters == 2


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"data": "not json", "content_type": "application/json"}, 400, "invalid_json"),
        ({"json": []}, 400, "invalid_export"),
        ({"json": {"a": 1}}, 400, "invalid_export"),
        ({"json": [1, 2]}, 400, "invalid_export"),
        ({"json": {"unrelated": []}}, 400, "invalid_export"),
        ({"data": "x", "content_type": "text/plain"}, 415, "unsupported_media_type"),
        ({"json": EXPORT, "query_string": {"minClusters": 9}}, 400, "invalid_options"),
        ({"json": EXPORT, "query_string": {"maxClusters": "many"}}, 400, "invalid_options"),
        ({"data": {}, "content_type": "multipart/form-data"}, 400, "missing_file"),
    ],
)
def test_bad_input_is_a_json_4xx_and_nothing_is_sent(client, settings, sent, kwargs, status,
                                                      code):
    response = client.post("/v1/graphs/generate", headers=auth(settings), **kwargs)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code
    assert response.get_json()["error"]["message"]
    assert sent == []


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Basic abc"}],
)
def test_token_is_required(client, headers):
    for method, url in [("post", "/v1/graphs/generate"), ("get", "/v1/graphs/me"),
                        ("get", "/v1/jobs/x"), ("get", "/v1/events")]:
        response = getattr(client, method)(url, headers=headers)
        assert response.status_code == 401, url
        assert response.get_json()["error"]["code"] == "unauthorized"


def test_token_signed_with_another_secret_is_refused(client):
    other = ApiSettings(jwt_secret="other-secret-0123456789abcdef0123456789")
    response = client.get("/v1/graphs/me", headers=auth(other))
    assert response.status_code == 401


def test_users_see_only_their_own_jobs_and_graphs(client, settings, app):
    task_id = client.post("/v1/graphs/generate", json=EXPORT,
                          headers=auth(settings)).get_json()["taskId"]
    assert client.get(f"/v1/jobs/{task_id}", headers=auth(settings)).status_code == 200
    assert client.get(f"/v1/jobs/{task_id}", headers=auth(settings, "mallory")).status_code == 404
    app.extensions["graphnode"].store.commit(Outcome(
        taskId=task_id, status=JobStatus.COMPLETED, outputKeys={"graph": "g", "features": "f"},
        results={ResultKind.GRAPH: {"nodes": [], "edges": []}}, becomesCurrentGraph=True))
    assert client.get("/v1/graphs/me", headers=auth(settings)).get_json()["taskId"] == task_id
    assert client.get("/v1/graphs/me", headers=auth(settings, "mallory")).status_code == 404


def test_job_fails_at_once_when_the_queue_is_down(client, settings, app, monkeypatch):
    def broken(*args):
        raise ConnectionError("SQS unreachable")

    monkeypatch.setattr("graphnode.api.jobs.send_message", broken)
    response = client.post("/v1/graphs/generate", json=EXPORT, headers=auth(settings))
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "queue_unavailable"


def test_malformed_last_event_id_is_a_400(client, settings):
    response = client.get("/v1/events", headers={**auth(settings), "Last-Event-ID": "abc"})
    assert response.status_code == 400


def test_unknown_route_is_json(client):
    response = client.get("/v2/nothing")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_envelope_sent_is_contract_valid(settings):
    from graphnode.contract.messages import GraphGenerationRequest, make_envelope

    payload = GraphGenerationRequest(userId="alice", inputKey="k", inputSha256="0" * 64)
    envelope = make_envelope(TaskType.GRAPH_GENERATION_REQUEST, "abc", payload)
    assert parse_envelope(envelope)[1] == payload


def _graph_job(app, user="alice"):
    """A completed graph job for ``user``, as the result worker would have stored it."""
    store = app.extensions["graphnode"].store
    from graphnode.stores import Job

    store.create_job(Job(taskId="g1", userId=user, taskType=TaskType.GRAPH_GENERATION_REQUEST))
    store.commit(Outcome(taskId="g1", status=JobStatus.COMPLETED,
                         outputKeys={"graph": "results/x/g1/graph.json",
                                     "features": "results/x/g1/features.json"},
                         results={ResultKind.GRAPH: {"nodes": [], "edges": []}},
                         becomesCurrentGraph=True))


def test_summary_and_add_nodes_need_a_graph_first(client, settings, sent):
    assert client.post("/v1/graphs/me/summary", headers=auth(settings)).status_code == 404
    response = client.post("/v1/graphs/me/nodes", json=EXPORT, headers=auth(settings))
    assert response.status_code == 404 and sent == []


def test_summary_request_points_at_the_current_graph(client, settings, sent, app):
    _graph_job(app)
    response = client.post("/v1/graphs/me/summary", headers=auth(settings))
    assert response.status_code == 202
    task_type, _, payload = sent[0]
    assert task_type == TaskType.GRAPH_SUMMARY_REQUEST
    assert payload.graphKey == "results/x/g1/graph.json"
    assert client.get("/v1/graphs/me/summary", headers=auth(settings)).status_code == 404


def test_summary_and_add_nodes_never_read_the_graph_itself(client, settings, sent, app,
                                                            monkeypatch):
    """A graph can be megabytes: a request against it needs only its job's keys."""
    _graph_job(app)
    store = app.extensions["graphnode"].store
    monkeypatch.setattr(store, "get_result",
                        lambda *a, **k: pytest.fail("the graph was read to accept a job"))
    assert client.post("/v1/graphs/me/summary", headers=auth(settings)).status_code == 202
    notes = {"source_nodes": [{"id": "n1", "title": "t", "sections": []}]}
    assert client.post("/v1/graphs/me/nodes", json=notes,
                       headers=auth(settings)).status_code == 202


def test_add_nodes_sends_the_graph_and_features_keys(client, settings, sent, app):
    _graph_job(app)
    notes = {"source_nodes": [{"id": "n1", "title": "t", "sections": []}]}
    response = client.post("/v1/graphs/me/nodes", json=notes, headers=auth(settings))
    assert response.status_code == 202
    task_type, task_id, payload = sent[0]
    assert task_type == TaskType.ADD_NODE_REQUEST
    assert payload.featuresKey == "results/x/g1/features.json"
    result = client.get(f"/v1/jobs/{task_id}/result", headers=auth(settings))
    assert result.status_code == 409  # still pending


def test_workspace_document_upload_and_status(client, settings, sent, app):
    data = {"file": (io.BytesIO(b"# Notes\nMarie Curie worked at the Sorbonne."),
                     "../../etc/notes.md")}
    response = client.post("/v1/workspaces/ws-1/documents", data=data, headers=auth(settings),
                           content_type="multipart/form-data")
    assert response.status_code == 202
    task_type, task_id, payload = sent[0]
    assert task_type == TaskType.MICROSCOPE_INGEST_REQUEST
    assert payload.groupId == "ws-1" and payload.fileName == "notes.md"
    assert "notes" not in payload.inputKey
    workspace = client.get("/v1/workspaces/ws-1", headers=auth(settings)).get_json()
    assert workspace["complete"] is False
    assert [d["taskId"] for d in workspace["documents"]] == [task_id]
    assert client.get("/v1/workspaces/ws-1", headers=auth(settings, "bob")).status_code == 404


@pytest.mark.parametrize(
    ("group", "name", "status", "code"),
    [("ws 1", "a.md", 400, "invalid_group_id"), ("ws1", "a.exe", 415, "unsupported_document"),
     ("ws1", None, 400, "missing_file")],
)
def test_workspace_upload_errors(client, settings, sent, group, name, status, code):
    data = {"file": (io.BytesIO(b"text"), name)} if name else {}
    response = client.post(f"/v1/workspaces/{group}/documents", data=data,
                           headers=auth(settings), content_type="multipart/form-data")
    assert response.status_code == status and response.get_json()["error"]["code"] == code
    assert sent == []
