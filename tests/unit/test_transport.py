"""The SQS transport's boto3 clients: one per process and credentials, whatever the channel."""

from __future__ import annotations

import time

from kombu import Connection

from graphnode.runtime.celery_app import celery_config
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


def polls_of(channel, queue: str = "graph-res") -> list[float]:
    """When the channel polled ``queue``, run on an event loop of its own until it polled
    twice or three retry intervals passed."""
    from kombu.asynchronous import Hub, set_event_loop

    from graphnode.runtime import transport

    hub = Hub()
    set_event_loop(hub)
    polls: list[float] = []
    try:
        channel.hub = hub
        channel._active_queues.append(queue)
        original = channel._get_bulk_async

        def counted(queue, callback=None):
            polls.append(time.monotonic())
            return original(queue, callback=callback)

        channel._get_bulk_async = counted
        channel._schedule_queue(queue)
        deadline = time.monotonic() + transport.RECEIVE_RETRY_SECONDS * 3
        loop = hub.create_loop()
        while len(polls) < 2 and time.monotonic() < deadline:
            next(loop)
    finally:
        hub.close()
        set_event_loop(None)
    return polls


def test_a_failed_receive_is_logged_and_the_queue_polled_again(caplog):
    """kombu's own chain raised AttributeError on a refused receive and never polled again."""
    from graphnode.runtime import transport

    polls = polls_of(_channel("http://127.0.0.1:1"))  # nothing listens: curl answers 599
    assert len(polls) >= 2, "the queue was not polled again after a failed receive"
    assert polls[1] - polls[0] >= transport.RECEIVE_RETRY_SECONDS * 0.9
    assert "receive from" in caplog.text and "polling again" in caplog.text


def test_a_queue_that_does_not_exist_is_polled_again_and_reported(caplog):
    """kombu raised SQS's 400 QueueDoesNotExist on the event loop: the worker exited
    ("Unrecoverable error") when the emulator restarted empty."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class NoSuchQueue(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = (b'{"__type": "com.amazonaws.sqs#QueueDoesNotExist",'
                    b' "message": "The specified queue does not exist."}')
            self.send_response(400)
            self.send_header("Content-Type", "application/x-amz-json-1.0")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), NoSuchQueue)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        channel = _channel(f"http://127.0.0.1:{server.server_address[1]}")
        missing: list[str] = []
        channel.transport_options["graphnode_on_missing_queue"] = missing.append
        polls = polls_of(channel)
    finally:
        server.shutdown()
        server.server_close()
    assert len(polls) >= 2, "the queue was not polled again"
    assert missing and set(missing) == {"graph-res"}
    assert "QueueDoesNotExist" in caplog.text


def test_a_receive_hides_task_messages_for_one_heartbeat_window_only():
    """graph-req hides a message 300 s: a worker dead before its first beat, or a long poll
    left open by a stopped worker, would leave it hidden that long. Events are read without
    acknowledgement, and keep the queue's own timeout."""
    from graphnode.contract.lifecycle import visibility_window_seconds

    channel = _channel()
    asked = {}

    class Receiver:
        def receive_message(self, queue, url, **kwargs):
            asked[queue] = kwargs["visibility_timeout"]

    for queue in ("graph-req", "graph-res", "graphnode-events-flower"):
        channel._get_from_sqs(queue, f"http://sqs/{queue}", Receiver())
    window = visibility_window_seconds(CommonSettings().visibility_heartbeat_seconds)
    assert window == 60
    assert asked == {"graph-req": window, "graph-res": window, "graphnode-events-flower": None}
