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
#: A user's event log and the marks of events already published expire this long after the
#: last event: a browser that was away longer reloads the job state instead of replaying.
EVENT_LOG_TTL_SECONDS = 7 * 24 * 3600

#: Appends to the user's log, publishes on the user's channel and refreshes the TTL as one
#: atomic step. With a dedupe key (KEYS[3]) it does so only the first time: concurrent copies
#: of one result, or an outbox relayed twice, announce a job once. The final event of a job
#: also frees its in-flight slot (KEYS[4], member ARGV[5]; see ``graphnode.api.limits``),
#: on every copy, since a ZREM twice changes nothing.
PUBLISH_SCRIPT = """
if KEYS[4] ~= '' then
  redis.call('ZREM', KEYS[4], ARGV[5])
end
if KEYS[3] ~= '' and not redis.call('SET', KEYS[3], '1', 'NX', 'EX', ARGV[4]) then
  return false
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*',
                      'type', ARGV[1], 'data', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('PUBLISH', KEYS[2], '{"data": ' .. ARGV[2] .. ', "type": ' .. cjson.encode(ARGV[1])
           .. ', "id": "' .. id .. '"}')
return id
"""


def channel_for(user_id: str) -> str:
    return f"graphnode.user.{user_id}"


def log_key_for(user_id: str) -> str:
    return f"graphnode:events:{user_id}"


def sent_key_for(user_id: str, event_id: str) -> str:
    return f"graphnode:sent:{user_id}:{event_id}"


def in_flight_key_for(user_id: str) -> str:
    """The user's jobs in flight: a sorted set of task ids scored by acceptance time (ms).
    Here, not in the API, because the result worker's final events release them."""
    return f"graphnode:in-flight:{user_id}"


def _stream_id(event_id: str) -> tuple[int, int]:
    millis, _, sequence = event_id.partition("-")
    return int(millis), int(sequence or 0)


class EventPublisher:
    """Used by result handlers; connects lazily."""

    def __init__(self, redis_url: str, client: Any | None = None) -> None:
        self.redis_url = redis_url
        self._client = client
        self._script: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            import redis

            self._client = redis.Redis.from_url(self.redis_url, socket_timeout=10,
                                                socket_connect_timeout=5)
        return self._client

    def publish(self, user_id: str, event_type: str, data: dict[str, Any],
                once_as: str | None = None, ends_task: str | None = None) -> str | None:
        """Log and publish one event (flask-sse's wire format, so its own ``sse.stream`` view
        could serve the channel too); its stream id, or None if ``once_as`` was published
        before. ``ends_task``: the event is that job's final one, which frees its slot."""
        if self._script is None:
            self._script = self.client.register_script(PUBLISH_SCRIPT)
        dedupe = sent_key_for(user_id, once_as) if once_as else ""
        in_flight = in_flight_key_for(user_id) if ends_task else ""
        event_id = self._script(
            keys=[log_key_for(user_id), channel_for(user_id), dedupe, in_flight],
            args=[event_type, json.dumps(data), EVENT_LOG_LENGTH, EVENT_LOG_TTL_SECONDS,
                  ends_task or ""],
        )
        return event_id.decode() if event_id else None


def format_sse(data: Any, event_type: str | None = None, event_id: str | None = None) -> str:
    """One SSE frame, as flask-sse writes it."""
    from flask_sse import Message

    return str(Message(data, type=event_type, id=event_id))


def open_event_stream(
    client: Any, user_id: str, last_event_id: str | None, keepalive_seconds: float
) -> Iterator[str]:
    """SSE frames for one user: first those logged after ``last_event_id``, then live ones.

    Redis is reached before the first frame (a ping, the subscription, the replay), so an
    unreachable Redis raises here, where the API can still answer with a JSON error. The
    channel is subscribed before the log is read, so nothing published in between is lost;
    live messages already replayed from the log are skipped by id.
    """
    client.ping()
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    try:
        pubsub.subscribe(channel_for(user_id))
        backlog = (client.xrange(log_key_for(user_id), min="(" + last_event_id)
                   if last_event_id else [])
    except BaseException:
        pubsub.close()
        raise
    return _frames(pubsub, backlog, keepalive_seconds)


def _frames(pubsub: Any, backlog: list[Any], keepalive_seconds: float) -> Iterator[str]:
    try:
        last_seen = (0, 0)
        for entry_id, fields in backlog:
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
