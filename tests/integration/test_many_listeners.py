"""Many listeners on one API process: 300 open event streams (950 in the ``long`` variant,
near a process's 1,000 Redis connections) and clients that send their bodies a few bytes at
a time, beside normal traffic. ``/healthz`` and submissions keep
answering; a user past ``GRAPHNODE_MAX_OPEN_STREAMS`` gets a JSON 429; closed streams give
their slots back. One gevent worker holds them all (a pod runs two, as the Procfile does).
"""

from __future__ import annotations

import socket
import statistics
import threading
import time

import pytest
import redis
import requests

from graphnode.api.limits import streams_key_for
from graphnode.contract.tokens import mint_token
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.integration

STREAMS_PER_USER = 5  # the cap
SAMPLES = 10
#: Keep-alives every second, so a stream whose client left is noticed (by the failed write
#: of its next frame) and its slot given back within about a second.
KEEPALIVE_SECONDS = 1
#: A listener beside normal traffic may slow it, not stop it: medians within this of the
#: quiet ones (generous for a loaded 2-core machine; the figures are printed).
MAX_MEDIAN_SECONDS = 1.0
TINY_EXPORT = b'[{"title": "t", "mapping": {}, "current_node": null}]'


@pytest.fixture(scope="module")
def api(stack):
    name = "api-listeners"
    url = stack.start_api(name, workers=1, env={
        "GRAPHNODE_MAX_OPEN_STREAMS": str(STREAMS_PER_USER),
        "GRAPHNODE_SSE_KEEPALIVE_SECONDS": str(KEEPALIVE_SECONDS)})
    yield url
    process = stack.processes.pop(name)
    process.terminate()
    process.wait(15)


def open_stream(url: str, token: str) -> socket.socket:
    """An EventSource as a browser holds it: one connection, read as frames arrive."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(f"GET /v1/events?access_token={token} HTTP/1.1\r\nHost: {host}\r\n"
                 "Accept: text/event-stream\r\n\r\n".encode())
    received = b""
    while b": connected" not in received:
        chunk = sock.recv(4096)
        assert chunk, received
        received += chunk
    assert received.startswith(b"HTTP/1.1 200"), received[:200]
    return sock


def slow_body(url: str, token: str, stop: threading.Event) -> None:
    """A submission whose body comes ten bytes every half second: it holds a greenlet."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(f"POST /v1/graphs/generate HTTP/1.1\r\nHost: {host}\r\n"
                     f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {len(TINY_EXPORT)}\r\n\r\n".encode())
        for start in range(0, len(TINY_EXPORT), 10):
            if stop.wait(0.5):
                return
            sock.sendall(TINY_EXPORT[start:start + 10])


def medians(url: str, api_settings, run: str) -> tuple[float, float]:
    """Median seconds of ``/healthz`` and of a submission (each by a user of its own)."""
    health, submits = [], []
    for n in range(SAMPLES):
        started = time.monotonic()
        assert requests.get(f"{url}/healthz", timeout=10).ok
        health.append(time.monotonic() - started)
        token = mint_token(api_settings, f"listeners-submit-{run}-{n}")
        started = time.monotonic()
        answer = requests.post(f"{url}/v1/graphs/generate", data=TINY_EXPORT, timeout=30,
                               headers={"Authorization": f"Bearer {token}",
                                        "Content-Type": "application/json"})
        submits.append(time.monotonic() - started)
        assert answer.status_code == 202, answer.text
    return statistics.median(health), statistics.median(submits)


@pytest.mark.parametrize("users", [60, pytest.param(190, marks=pytest.mark.long)],
                         ids=["300-streams", "950-streams"])
def test_listeners_and_slow_bodies_leave_health_and_submits_answering(stack, api_settings, api,
                                                                      users):
    quiet = medians(api, api_settings, f"quiet-{users}")
    tokens = [mint_token(api_settings, f"listener-{users}-{n}") for n in range(users)]
    streams = [open_stream(api, token) for token in tokens for _ in range(STREAMS_PER_USER)]
    stop = threading.Event()
    slow = [threading.Thread(target=slow_body, args=(api, tokens[n], stop)) for n in range(3)]
    try:
        for thread in slow:
            thread.start()
        over = requests.get(f"{api}/v1/events", params={"access_token": tokens[0]}, timeout=10)
        assert over.status_code == 429 and over.json()["error"]["code"] == "too_many_streams"
        assert over.headers["Retry-After"] == str(KEEPALIVE_SECONDS)
        busy = medians(api, api_settings, f"busy-{users}")
        print(f"\nmedians with {len(streams)} streams and {len(slow)} slow bodies: /healthz "
              f"{busy[0] * 1000:.1f} ms (quiet {quiet[0] * 1000:.1f}), submit "
              f"{busy[1] * 1000:.1f} ms (quiet {quiet[1] * 1000:.1f})")
        assert max(busy) < MAX_MEDIAN_SECONDS, busy
        for sock in streams:  # every stream still alive: a keep-alive arrives
            sock.settimeout(KEEPALIVE_SECONDS * 5)
            assert sock.recv(4096)
    finally:
        stop.set()
        for sock in streams:
            sock.close()
        for thread in slow:
            thread.join()
    client = redis.Redis.from_url(stack.env["GRAPHNODE_REDIS_URL"])
    wait_for(lambda: not any(client.zcard(streams_key_for(f"listener-{users}-{n}"))
                             for n in range(users)), 15, "the closed streams' slots back")
    open_stream(api, tokens[0]).close()
