"""What only the real server shows: gunicorn with gevent in front of the API.

A minimal stack (the AWS emulator, redis-server and the API; no Celery workers): malformed and
oversized chunked bodies, a long URL, and a SQLite store held by another writer while a gevent
worker keeps answering.
"""

from __future__ import annotations

import socket
import sqlite3
import threading
import time

import pytest
import requests

from graphnode.contract.tokens import mint_token
from graphnode.ops.devstack import DevStack, free_port
from graphnode.settings import ApiSettings

pytestmark = pytest.mark.integration

UPLOAD_LIMIT = 64 * 1024
BUSY_TIMEOUT = 1.0
EXPORT = b'[{"title": "t", "mapping": {}, "current_node": null}]'


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    dev = DevStack(tmp_path_factory.mktemp("limits"),
                   ports={"aws": free_port(), "redis": free_port(), "api": free_port()},
                   queue_prefix="lim-")
    dev.env["GRAPHNODE_MAX_UPLOAD_BYTES"] = str(UPLOAD_LIMIT)
    dev.env["GRAPHNODE_STORE_BUSY_TIMEOUT_SECONDS"] = str(BUSY_TIMEOUT)
    try:
        dev.start_backing_services()
        dev.start_api()
        yield dev
    finally:
        dev.stop()


@pytest.fixture(scope="module")
def token(api):
    return mint_token(ApiSettings(jwt_secret=api.env["GRAPHNODE_JWT_SECRET"]), "alice")


def exchange(api, head: bytes, body: bytes = b"", timeout: float = 10) -> tuple[bytes, float]:
    """Send raw bytes, read one response (headers and a short body); its text and seconds."""
    with socket.create_connection(("127.0.0.1", api.ports["api"]), timeout=timeout) as sock:
        started = time.monotonic()
        sock.sendall(head + body)
        data = b""
        while b"\r\n\r\n" not in data or not data.rstrip().endswith((b"}", b">")):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        return data, time.monotonic() - started


def chunked_post(token: str, path: str = "/v1/graphs/generate") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n").encode()


def status_and_json(response: bytes) -> tuple[int, bytes]:
    head, _, body = response.partition(b"\r\n\r\n")
    assert b"application/json" in head, response[:400]
    return int(head.split()[1]), body


def test_malformed_chunked_encoding_is_a_json_400(api, token):
    response, _ = exchange(api, chunked_post(token), b"zz\r\nabc\r\n0\r\n\r\n")
    status, body = status_and_json(response)
    assert status == 400 and b"malformed_body" in body


def test_a_chunked_body_is_refused_with_413_as_soon_as_it_passes_the_limit(api, token):
    """The body is never finished: the answer can only come from crossing the limit."""
    chunk = b"%x\r\n%s\r\n" % (16 * 1024, b"x" * 16 * 1024)
    response, seconds = exchange(api, chunked_post(token), chunk * 6)  # 96 KiB > 64 KiB
    status, body = status_and_json(response)
    assert status == 413 and b"request_entity_too_large" in body
    assert seconds < 5


def test_a_long_id_is_a_json_404(api, token):
    head = (f"GET /v1/jobs/{'a' * 5000} HTTP/1.1\r\nHost: t\r\n"
            f"Authorization: Bearer {token}\r\n\r\n").encode()
    status, body = status_and_json(exchange(api, head)[0])
    assert status == 404 and b"not_found" in body and b"a" * 100 not in body


def test_a_last_event_id_beyond_64_bits_is_a_json_400(api, token):
    response = requests.get(f"{api.api_url}/v1/events", timeout=10,
                            headers={"Authorization": f"Bearer {token}",
                                     "Last-Event-ID": f"{2**64}-0"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_last_event_id"


def test_a_held_store_costs_a_fast_503_and_never_the_worker(api, token):
    path = api.env["GRAPHNODE_STORE_URL"].removeprefix("sqlite:///")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    # the API creates the file on start; another writer now holds it
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    posts: list[tuple[int, float, requests.Response]] = []

    def post():
        started = time.monotonic()
        response = requests.post(f"{api.api_url}/v1/graphs/generate", data=EXPORT,
                                 headers=headers, timeout=30)
        posts.append((response.status_code, time.monotonic() - started, response))

    try:
        senders = [threading.Thread(target=post) for _ in range(6)]
        for sender in senders:
            sender.start()
        time.sleep(0.3)  # the POSTs are now waiting on the lock
        health = []
        for _ in range(5):
            started = time.monotonic()
            assert requests.get(f"{api.api_url}/healthz", timeout=10).ok
            health.append(time.monotonic() - started)
        for sender in senders:
            sender.join()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert max(health) < 0.5, health
    assert [status for status, _, _ in posts] == [503] * 6
    assert max(seconds for _, seconds, _ in posts) < BUSY_TIMEOUT + 2
    for _, _, response in posts:
        assert response.headers["Retry-After"].isdigit()
        assert response.json()["error"]["code"] == "store_busy"
    # and once the writer is gone the same request is accepted
    accepted = requests.post(f"{api.api_url}/v1/graphs/generate", data=EXPORT,
                             headers=headers, timeout=30)
    assert accepted.status_code == 202, accepted.text
