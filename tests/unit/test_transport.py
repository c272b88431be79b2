"""The SQS transport's boto3 clients: one per process and credentials, whatever the channel."""

from __future__ import annotations

from kombu import Connection

from graphnode.celery_app import celery_config
from graphnode.settings import CommonSettings


def _channel(endpoint: str = "http://127.0.0.1:1") -> object:
    """A channel of a fresh connection, as Celery's producer pool opens one per sender."""
    config = celery_config(CommonSettings(aws_endpoint_url=endpoint))
    return Connection(config["broker_url"],
                      transport_options=config["broker_transport_options"]).channel()


def test_channels_of_one_process_share_one_client():
    first, second = _channel(), _channel()
    client = first.sqs(queue="graph-req")
    assert second.sqs(queue="graph-req") is client
    assert second.sqs(queue="graph-res") is client
    assert client.meta.endpoint_url == "http://127.0.0.1:1"


def test_another_endpoint_gets_its_own_client():
    assert (_channel("http://127.0.0.1:2").sqs(queue="graph-req")
            is not _channel("http://127.0.0.1:1").sqs(queue="graph-req"))


def test_temporary_credentials_are_never_shared():
    channel = _channel()
    arguments = ("sqs", "us-east-1", "key", "secret")
    assert (channel._new_boto_client(*arguments, session_token="token")
            is not channel._new_boto_client(*arguments, session_token="token"))
    assert channel._new_boto_client(*arguments) is channel._new_boto_client(*arguments)
