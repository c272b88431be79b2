"""A worker whose queues are missing says so in one line and looks again (SQS in moto's
in-process emulator, standing in for AWS before ``terraform apply``)."""

from __future__ import annotations

from moto import mock_aws

from graphnode.runtime.worker_ops import wait_for_queues
from graphnode.settings import CommonSettings


def test_missing_queues_are_named_in_one_line_and_looked_for_again(monkeypatch, capsys):
    with mock_aws():
        settings = CommonSettings(aws_endpoint_url=None)
        assert not settings.uses_local_emulator, "AWS: the worker must not provision"
        from graphnode.aws import aws_client

        sqs = aws_client("sqs", settings)
        waits = []

        def terraform_apply_meanwhile(seconds):
            waits.append(seconds)
            sqs.create_queue(QueueName=settings.request_queue)

        monkeypatch.setattr("time.sleep", terraform_apply_meanwhile)
        wait_for_queues(settings, [settings.request_queue], retry_seconds=5)
    (line,) = capsys.readouterr().err.splitlines()
    assert waits == [5]
    assert line.startswith(f"graphnode worker: queues {settings.request_queue} not reachable")
    assert "terraform apply" in line and line.endswith("retrying in 5 s")
