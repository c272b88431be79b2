"""The per-user event log in a real redis-server: capped, and expiring when a user is idle."""

from __future__ import annotations

import uuid

import pytest

from graphnode.events import EVENT_LOG_TTL_SECONDS, EventPublisher, log_key_for


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

