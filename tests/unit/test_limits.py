"""Per-user limits against a real redis-server: counted atomically, released by the final
event's publish and by the API, healed by expiry, off at 0, open when Redis is not there."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from moto import mock_aws
from prometheus_client import REGISTRY
from pydantic import ValidationError

from graphnode.api.errors import ApiError
from graphnode.api.limits import (
    IN_FLIGHT_RETRY_AFTER_SECONDS,
    REDIS_TIMEOUT_SECONDS,
    Limiter,
    Refusal,
    submissions_key_for,
)
from graphnode.ops.devstack import free_port
from graphnode.settings import ApiSettings
from graphnode.stores.events import EventPublisher, in_flight_key_for
from tests.unit.test_api import EXPORT, auth

SECRET = "test-secret-0123456789abcdef0123456789"


def limits(redis_url: str, **values: int) -> ApiSettings:
    return ApiSettings(jwt_secret=SECRET, redis_url=redis_url, **values)


def new_user() -> str:
    """The session's redis-server is shared: each test counts for users of its own."""
    return f"u-{uuid.uuid4().hex[:8]}"


def refusals(reason: Refusal) -> float:
    return REGISTRY.get_sample_value("graphnode_limit_refusals_total",
                                     {"reason": reason.value}) or 0.0


def refused(limiter: Limiter, user: str, task_id: str) -> ApiError:
    with pytest.raises(ApiError) as caught:
        limiter.admit(user, task_id)
    return caught.value


def test_the_job_past_the_in_flight_limit_is_refused_until_one_ends(redis_url):
    limiter = Limiter(limits(redis_url, max_jobs_in_flight=3, max_submissions_per_minute=0))
    user, before = new_user(), refusals(Refusal.IN_FLIGHT)
    for n in range(3):
        limiter.admit(user, f"t{n}")
    error = refused(limiter, user, "t3")
    assert (error.status, error.code) == (429, "too_many_jobs_in_flight")
    assert error.headers == {"Retry-After": str(IN_FLIGHT_RETRY_AFTER_SECONDS)}
    assert "3" in error.message and "GRAPHNODE_MAX_JOBS_IN_FLIGHT" in error.message
    assert refusals(Refusal.IN_FLIGHT) == before + 1
    limiter.admit(new_user(), "t3")  # another user's count is their own
    limiter.release(user, "t1")
    limiter.admit(user, "t3")


def test_the_final_events_publish_frees_the_slot_on_every_copy(redis_url):
    limiter = Limiter(limits(redis_url, max_jobs_in_flight=1, max_submissions_per_minute=0))
    publisher = EventPublisher(redis_url)
    user = new_user()
    limiter.admit(user, "t1")
    refused(limiter, user, "t2")
    publisher.publish(user, "progress", {"taskId": "t1"})  # not a final event: still held
    refused(limiter, user, "t2")
    for _ in range(2):  # a relayed copy is not announced again, and frees nothing more
        publisher.publish(user, "completed", {"taskId": "t1"}, once_as="t1:COMPLETED",
                          ends_task="t1")
    limiter.admit(user, "t2")
    assert redis.Redis.from_url(redis_url).zrange(in_flight_key_for(user), 0, -1) == [b"t2"]


def test_a_lost_release_heals_when_the_slot_expires(redis_url):
    settings = limits(redis_url, max_jobs_in_flight=1, max_submissions_per_minute=0)
    limiter, client, user = Limiter(settings), redis.Redis.from_url(redis_url), new_user()
    seconds, micros = client.time()
    expired_at = (seconds - settings.in_flight_expiry_seconds - 1) * 1000 + micros // 1000
    client.zadd(in_flight_key_for(user), {"leaked": expired_at})  # accepted, never released
    limiter.admit(user, "t1")
    assert client.zrange(in_flight_key_for(user), 0, -1) == [b"t1"]
    assert 0 < client.pttl(in_flight_key_for(user)) <= settings.in_flight_expiry_seconds * 1000


def test_submissions_per_minute_refuse_with_the_wait_until_the_oldest_leaves(redis_url):
    limiter = Limiter(limits(redis_url, max_jobs_in_flight=0, max_submissions_per_minute=2))
    user, before = new_user(), refusals(Refusal.SUBMISSIONS)
    limiter.admit(user, "t1")
    limiter.admit(user, "t2")
    error = refused(limiter, user, "t3")
    assert (error.status, error.code) == (429, "too_many_submissions")
    assert 55 <= int(error.headers["Retry-After"]) <= 60
    assert "GRAPHNODE_MAX_SUBMISSIONS_PER_MINUTE" in error.message
    refused(limiter, user, "t4")  # refusals do not count: the wait does not grow
    client = redis.Redis.from_url(redis_url)
    assert client.zcard(submissions_key_for(user)) == 2
    assert not client.exists(in_flight_key_for(user))  # that limit is off: nothing kept
    assert refusals(Refusal.SUBMISSIONS) == before + 2


def test_the_limits_are_settings_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("GRAPHNODE_MAX_JOBS_IN_FLIGHT", "3")
    monkeypatch.setenv("GRAPHNODE_MAX_SUBMISSIONS_PER_MINUTE", "0")
    settings = ApiSettings()
    assert (settings.max_jobs_in_flight, settings.max_submissions_per_minute) == (3, 0)
    monkeypatch.setenv("GRAPHNODE_MAX_JOBS_IN_FLIGHT", "-1")
    with pytest.raises(ValidationError, match="max_jobs_in_flight"):
        ApiSettings()


def test_zero_switches_both_limits_off(redis_url):
    limiter = Limiter(limits(redis_url, max_jobs_in_flight=0, max_submissions_per_minute=0))
    user = new_user()
    for n in range(50):
        limiter.admit(user, f"t{n}")
    client = redis.Redis.from_url(redis_url)
    assert not client.exists(in_flight_key_for(user), submissions_key_for(user))


def test_concurrent_submissions_never_pass_the_limit(redis_url):
    """Two replicas (two clients) racing for the last slots: the script admits exactly 5."""
    replicas = [Limiter(limits(redis_url, max_jobs_in_flight=5)) for _ in range(2)]
    user = new_user()

    def submit(n: int) -> bool:
        try:
            replicas[n % 2].admit(user, f"t{n}")
        except ApiError:
            return False
        return True

    with ThreadPoolExecutor(16) as pool:
        admitted = sum(pool.map(submit, range(40)))
    assert admitted == 5


def test_an_unreachable_redis_admits_unchecked_and_counts_it():
    skipped = REGISTRY.get_sample_value("graphnode_limit_checks_skipped_total") or 0.0
    limiter = Limiter(limits(f"redis://127.0.0.1:{free_port()}/0", max_jobs_in_flight=1))
    limiter.admit("alice", "t1")
    limiter.admit("alice", "t2")
    limiter.release("alice", "t1")  # logged, not raised
    assert REGISTRY.get_sample_value("graphnode_limit_checks_skipped_total") == skipped + 2


def test_a_frozen_redis_costs_a_submission_at_most_the_timeout(tmp_path):
    """SIGSTOP: connections are accepted by the kernel and never answered."""
    port = free_port()
    server = subprocess.Popen([shutil.which("redis-server") or "redis-server", "--port",
                               str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--dir", str(tmp_path)],
                              stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        url = f"redis://127.0.0.1:{port}/0"
        deadline = time.monotonic() + 10
        while not _answers(url) and time.monotonic() < deadline:
            time.sleep(0.05)
        limiter = Limiter(limits(url, max_jobs_in_flight=1))
        limiter.admit("alice", "t1")  # the connection is now open and pooled
        server.send_signal(signal.SIGSTOP)
        skipped = REGISTRY.get_sample_value("graphnode_limit_checks_skipped_total") or 0.0
        started = time.monotonic()
        limiter.admit("alice", "t2")  # over the limit, but Redis cannot say so
        assert time.monotonic() - started < REDIS_TIMEOUT_SECONDS + 1.0
        assert REGISTRY.get_sample_value("graphnode_limit_checks_skipped_total") == skipped + 1
    finally:
        server.send_signal(signal.SIGCONT)
        server.terminate()
        server.wait(10)


def _answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url).ping())
    except redis.RedisError:
        return False


# --- through the API ------------------------------------------------------------------------


@pytest.fixture
def api(tmp_path, redis_url, monkeypatch):
    """The app with a real Redis, a limit of one job in flight and a recording queue."""
    sent: list[str] = []
    monkeypatch.setattr("graphnode.api.jobs.send_message",
                        lambda app, task_type, task_id, payload: sent.append(task_id))
    settings = ApiSettings(jwt_secret=SECRET, store_url=f"sqlite:///{tmp_path / 'api.db'}",
                           payload_bucket="test-bucket", redis_url=redis_url,
                           max_jobs_in_flight=1)
    with mock_aws():
        import boto3

        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="test-bucket")
        from graphnode.api import create_app

        yield create_app(settings).test_client(), settings, s3, sent


def stored_objects(s3) -> int:
    return s3.list_objects_v2(Bucket="test-bucket").get("KeyCount", 0)


def test_a_refused_submit_is_a_json_429_and_stores_nothing(api):
    client, settings, s3, sent = api
    headers = auth(settings, new_user())
    assert client.post("/v1/graphs/generate", json=EXPORT, headers=headers).status_code == 202
    objects = stored_objects(s3)
    response = client.post("/v1/graphs/generate", json=EXPORT, headers=headers)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == str(IN_FLIGHT_RETRY_AFTER_SECONDS)
    error = response.get_json()["error"]
    assert error["code"] == "too_many_jobs_in_flight"
    assert "GRAPHNODE_MAX_JOBS_IN_FLIGHT" in error["message"]
    assert stored_objects(s3) == objects and len(sent) == 1
    other = auth(settings, new_user())
    assert client.post("/v1/graphs/generate", json=EXPORT, headers=other).status_code == 202


def test_a_job_the_api_ends_itself_frees_its_slot(api, monkeypatch, redis_url):
    client, settings, _, _ = api
    user = new_user()

    def unavailable(*_):
        raise ConnectionError("queue down")

    monkeypatch.setattr("graphnode.api.jobs.send_message", unavailable)
    response = client.post("/v1/graphs/generate", json=EXPORT, headers=auth(settings, user))
    assert response.status_code == 503  # the job ended FAILED (not_enqueued) at once
    assert not redis.Redis.from_url(redis_url).exists(in_flight_key_for(user))


def stream_refused(limiter: Limiter, user: str) -> ApiError:
    with pytest.raises(ApiError) as caught:
        limiter.open_stream(user, keepalive_seconds=15)
    return caught.value


def test_open_streams_past_the_cap_are_refused_until_one_closes(redis_url):
    from graphnode.api.limits import streams_key_for

    limiter, user = Limiter(limits(redis_url, max_open_streams=2)), new_user()
    before = refusals(Refusal.STREAMS)
    first = limiter.open_stream(user, 15)
    limiter.open_stream(user, 15)
    error = stream_refused(limiter, user)
    assert (error.status, error.code, error.headers) == (429, "too_many_streams",
                                                        {"Retry-After": "15"})
    assert "GRAPHNODE_MAX_OPEN_STREAMS" in error.message
    assert refusals(Refusal.STREAMS) == before + 1
    limiter.open_stream(new_user(), 15)  # another user's streams are their own
    frames = first.held(iter([": connected\n\n", ": keep-alive\n\n"]))
    assert list(frames) == [": connected\n\n", ": keep-alive\n\n"]  # ended: closed
    limiter.open_stream(user, 15)
    assert redis.Redis.from_url(redis_url).zcard(streams_key_for(user)) == 2


def test_a_stream_renews_its_lease_and_a_killed_ones_runs_out(redis_url):
    from graphnode.api.limits import STREAM_LEASE_KEEPALIVES, streams_key_for

    limiter, user = Limiter(limits(redis_url, max_open_streams=1)), new_user()
    client = redis.Redis.from_url(redis_url)
    live = limiter.open_stream(user, keepalive_seconds=0.2)  # lease: 0.6 s
    frames = live.held(iter([": keep-alive\n\n"] * 100))
    for _ in range(10):  # 1 s of frames, longer than the lease: renewed as they go
        next(frames)
        time.sleep(0.1)
        stream_refused(limiter, user)
    assert 0 < client.pttl(streams_key_for(user)) <= 0.2 * STREAM_LEASE_KEEPALIVES * 1000
    time.sleep(0.7)  # the process "dies": nothing renews nor closes it
    assert limiter.open_stream(user, keepalive_seconds=0.2) is not None


def test_a_stream_opens_unchecked_when_redis_does_not_answer():
    limiter = Limiter(limits(f"redis://127.0.0.1:{free_port()}/0", max_open_streams=1))
    assert limiter.open_stream("someone", 15) is None
    assert Limiter(limits("redis://127.0.0.1:1/0", max_open_streams=0)).open_stream(
        "someone", 15) is None
