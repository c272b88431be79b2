"""Worker records answer the inspections Flower lists workers with (remote control is off
over SQS): S3 in moto's in-process emulator, Celery's own ``inspect`` client."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from moto import mock_aws

from graphnode.runtime.beacon import WORKERS_PREFIX, WorkerBeacon
from graphnode.settings import CommonSettings


@pytest.fixture
def settings():
    with mock_aws():
        settings = CommonSettings(aws_endpoint_url=None)
        from graphnode.aws import aws_client

        aws_client("s3", settings).create_bucket(Bucket=settings.payload_bucket)
        yield settings


def put_record(settings, hostname, seen_at, running=()):
    from graphnode.aws import aws_client

    record = {"hostname": hostname, "role": "worker-req", "queues": ["graph-req"], "pid": 7,
              "startedAt": seen_at.isoformat(), "seenAt": seen_at.isoformat(),
              "concurrency": 1, "registered": ["GRAPH_GENERATION_REQUEST"],
              "running": list(running), "processed": {"GRAPH_GENERATION_REQUEST": 3}}
    aws_client("s3", settings).put_object(Bucket=settings.payload_bucket,
                                          Key=f"{WORKERS_PREFIX}{hostname}.json",
                                          Body=json.dumps(record).encode())


def test_inspect_answers_for_each_live_worker_from_its_record(settings):
    from graphnode.runtime.celery_app import create_celery_app

    WorkerBeacon(settings, "res@host", "worker-res", ["graph-res"], concurrency=2,
                 registered=["GRAPH_GENERATION_RESULT"]).beat()
    now = datetime.now(UTC)
    put_record(settings, "req@host", now, running=[
        {"taskId": "t1", "taskType": "GRAPH_GENERATION_REQUEST", "runningSeconds": 4.0,
         "receiveCount": 1}])
    put_record(settings, "gone@host", now - timedelta(minutes=5))

    inspect = create_celery_app(settings, worker=False).control.inspect(timeout=1)
    stats = inspect.stats()
    assert sorted(stats) == ["req@host", "res@host"], "a stale record is a dead worker's"
    assert stats["res@host"]["pool"] == {"max-concurrency": 2}
    assert stats["req@host"]["total"] == {"GRAPH_GENERATION_REQUEST": 3}
    assert [q["name"] for q in inspect.active_queues()["res@host"]] == ["graph-res"]
    assert inspect.registered()["res@host"] == ["GRAPH_GENERATION_RESULT"]

    one = create_celery_app(settings, worker=False).control.inspect(
        timeout=1, destination=["req@host"])
    (active,) = one.active()["req@host"]
    assert active["id"] == "t1" and active["name"] == "GRAPH_GENERATION_REQUEST"
    assert active["time_start"] == pytest.approx(now.timestamp() - 4.0)
    assert one.conf() is None, "what a record does not hold gets no answer"


def test_controls_reach_nobody_in_flower_and_are_refused_by_celerys_commands(settings):
    import click
    from celery.bin.base import CeleryCommandException

    from graphnode.runtime.celery_app import create_celery_app

    control = create_celery_app(settings, worker=False).control
    with click.Context(click.Command("flower")):  # Flower serves inside `celery flower`
        assert control.broadcast("shutdown", destination=["req@host"]) is None
        assert control.inspect(timeout=1).stats() is None, "no worker record yet"
    with click.Context(click.Command("inspect")), pytest.raises(CeleryCommandException) as exc:
        control.inspect(timeout=1).stats()
    assert exc.value.exit_code == 69 and "graphnode status" in str(exc.value)


def test_record_calls_give_up_quickly_on_a_bucket_that_does_not_answer(monkeypatch, caplog):
    """A worker's shutdown deletes its record, and Flower's exit waits for the threads that
    read them: neither may hang on botocore's 60 s timeouts and five tries."""
    import socket
    import time

    from graphnode.runtime import beacon

    monkeypatch.setattr(beacon, "RECORD_CALL_SECONDS", 0.5)
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        settings = CommonSettings(aws_endpoint_url=f"http://127.0.0.1:{silent.getsockname()[1]}")
        record = WorkerBeacon(settings, "req@host", "worker-req", ["graph-req"])
        started = time.monotonic()
        record.stop()
        with pytest.raises(Exception, match="timeout"):
            beacon.read_records(settings)
        assert time.monotonic() - started < 1.8  # two calls, each tried once: 0.5 s each
    assert "not deleted" in caplog.text
