"""The per-user event log in a real redis-server: capped, and expiring when a user is idle."""

from __future__ import annotations

import json
import uuid

import pytest

from graphnode.stores.events import EVENT_LOG_TTL_SECONDS, EventPublisher, log_key_for


@pytest.fixture
def publisher(redis_url):
    import redis

    client = redis.Redis.from_url(redis_url)
    yield EventPublisher(redis_url, client=client)
    client.close()


def test_publish_logs_the_event_with_a_ttl(publisher):
    user = f"user-{uuid.uuid4().hex[:8]}"
    event_id = publisher.publish(user, "completed", {"taskId": "t1"})
    key = log_key_for(user)
    (entry_id, fields), = publisher.client.xrange(key)
    assert entry_id.decode() == event_id and fields[b"type"] == b"completed"
    assert 0 < publisher.client.ttl(key) <= EVENT_LOG_TTL_SECONDS


def test_each_publish_renews_the_ttl(publisher):
    # Regression (item 13): the stream never expired, one per user who ever had a job.
    user = f"user-{uuid.uuid4().hex[:8]}"
    key = log_key_for(user)
    publisher.publish(user, "progress", {"progress": 0.5})
    publisher.client.expire(key, 5)  # as if the first event were almost a week old
    publisher.publish(user, "completed", {"taskId": "t1"})
    assert publisher.client.ttl(key) > EVENT_LOG_TTL_SECONDS - 60
    assert publisher.client.xlen(key) == 2



def test_an_event_published_once_goes_out_once_even_from_concurrent_copies(publisher):
    """Item 15: copies of one result handled at once, or the outbox relay racing a handler,
    announce a job once: the claim and the publication are one step in Redis."""
    from concurrent.futures import ThreadPoolExecutor

    user = f"user-{uuid.uuid4().hex[:8]}"
    listener = publisher.client.pubsub(ignore_subscribe_messages=True)
    listener.subscribe(f"graphnode.user.{user}")
    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda _: publisher.publish(user, "completed", {"taskId": "t1"},
                                                        once_as="t1:COMPLETED"), range(8)))
    assert len([i for i in ids if i is not None]) == 1
    assert publisher.client.xlen(log_key_for(user)) == 1
    live = []
    for _ in range(5):  # the first reply read is the (ignored) subscription
        if (message := listener.get_message(timeout=0.2)) is not None:
            live.append(json.loads(message["data"]))
    assert [(m["type"], m["data"], m["id"]) for m in live] == [
        ("completed", {"taskId": "t1"}, next(i for i in ids if i))]
    # Another event of the same job (a revived FAILED job completing) is its own.
    assert publisher.publish(user, "failed", {}, once_as="t1:FAILED") is not None


def test_the_stream_view_answers_503_when_redis_is_unreachable(tmp_path):
    import redis

    from graphnode.api.events import open_event_stream
    from graphnode.ops.devstack import free_port

    client = redis.Redis(port=free_port(), socket_connect_timeout=1)
    with pytest.raises(redis.RedisError):
        open_event_stream(client, "alice", None, 15)
