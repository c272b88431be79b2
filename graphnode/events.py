"""Server-Sent Events over Redis, with a stored log so that a reconnecting browser resumes.

flask-sse publishes to a Redis channel and keeps nothing, so a client that reconnects
misses what was published meanwhile. Here every event is first appended to a capped Redis
stream per user (its entry id becomes the SSE ``id``), then published on the user's
channel in flask-sse's message format. The SSE endpoint replays the stream after the
client's ``Last-Event-ID`` and then follows the channel live.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

#: Events kept per user for resumption; older ones are trimmed (approximately, for speed).
EVENT_LOG_LENGTH = 1000
#: A user's log expires this long after their last event (each publish renews it): the cap
#: bounds its length, not its age, and without a TTL every user who ever had a job kept a
#: stream in Redis forever. A week covers any browser that could still reconnect and resume.
EVENT_LOG_TTL_SECONDS = 7 * 24 * 3600


def channel_for(user_id: str) -> str:
    return f"graphnode.user.{user_id}"


def log_key_for(user_id: str) -> str:
    return f"graphnode:events:{user_id}"


def _stream_id(event_id: str) -> tuple[int, int]:
    millis, _, sequence = event_id.partition("-")
    return int(millis), int(sequence or 0)


class EventPublisher:
    """Used by result handlers; connects lazily."""

    def __init__(self, redis_url: str, client: Any | None = None) -> None:
        self.redis_url = redis_url
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import redis

            self._client = redis.Redis.from_url(self.redis_url)
        return self._client

    def publish(self, user_id: str, event_type: str, data: dict[str, Any]) -> str:
        body = json.dumps(data)
        log_key = log_key_for(user_id)
        # One MULTI/EXEC: the entry and the renewed TTL are applied together.
        appended = self.client.pipeline()
        appended.xadd(log_key, {"type": event_type, "data": body},
                      maxlen=EVENT_LOG_LENGTH, approximate=True)
        appended.expire(log_key, EVENT_LOG_TTL_SECONDS)
        event_id = appended.execute()[0].decode()
        # flask-sse's wire format, so its own ``sse.stream`` view can serve this channel too.
        message = {"data": data, "type": event_type, "id": event_id}
        self.client.publish(channel_for(user_id), json.dumps(message))
        return event_id


def format_sse(data: Any, event_type: str | None = None, event_id: str | None = None) -> str:
    """One SSE frame, as flask-sse writes it."""
    from flask_sse import Message

    return str(Message(data, type=event_type, id=event_id))


def stream_events(
    client: Any, user_id: str, last_event_id: str | None, keepalive_seconds: float
) -> Iterator[str]:
    """SSE frames for one user: first those logged after ``last_event_id``, then live ones.

    The channel is subscribed before the log is read, so nothing published in between is
    lost; live messages already replayed from the log are skipped by id.
    """
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(channel_for(user_id))
    try:
        last_seen = (0, 0)
        if last_event_id:
            start = "(" + last_event_id
            for entry_id, fields in client.xrange(log_key_for(user_id), min=start):
                event_id = entry_id.decode()
                last_seen = _stream_id(event_id)
                yield format_sse(json.loads(fields[b"data"]), fields[b"type"].decode(), event_id)
        yield ": connected\n\n"
        while True:
            message = pubsub.get_message(timeout=keepalive_seconds)
            if message is None:
                yield ": keep-alive\n\n"
                continue
            event = json.loads(message["data"])
            if event.get("id") and _stream_id(event["id"]) <= last_seen:
                continue
            yield format_sse(event["data"], event.get("type"), event.get("id"))
    finally:
        pubsub.close()
