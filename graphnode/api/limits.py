"""Per-user limits: jobs in flight, submissions per rolling minute, open event streams.

One user must not hold every GPU worker. The limits are counted in Redis, so every API
replica shares them, and checked and recorded by one Lua script, so two replicas cannot
both admit the last slot. A sorted set per user and limit, scored by Redis's own clock (ms), so
the replicas' clocks do not matter:

- ``graphnode:in-flight:<user>`` (``graphnode.stores.events.in_flight_key_for``): the task ids
  of jobs accepted and not yet ended. A job's final event removes its id as it is
  published (the result worker or its outbox relay, ``events.PUBLISH_SCRIPT``); the API
  removes it itself when it ends the job (queue unavailable) or never recorded it. Ids
  older than ``GRAPHNODE_IN_FLIGHT_EXPIRY_SECONDS`` are dropped on each check, so a slot
  whose release was lost (a process killed mid-request) heals without anyone's help.
- ``graphnode:submissions:<user>``: the task ids admitted in the last minute (a sliding
  log, not fixed buckets, so no burst of twice the limit across a bucket edge).

- ``graphnode:streams:<user>``: a lease per open event stream, renewed by its frames (a
  keep-alive at least every ``GRAPHNODE_SSE_KEEPALIVE_SECONDS``) and removed when it closes;
  a lease unrenewed for three keep-alives (a killed API process) no longer counts.

Only admitted submissions are counted: a client hammering after a 429 costs one script
call per request and never postpones its own next slot.

Redis unreachable: the submission is admitted unchecked (a warning and
``graphnode_limit_checks_skipped_total``). The store and the queue still work, and the
worst a user can do meanwhile is queue more than their share for as long as Redis is down;
refusing instead would turn a Redis outage, which already only delays events, into an
outage of every submission. Each check waits for Redis at most ``REDIS_TIMEOUT_SECONDS``.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Iterator
from enum import StrEnum
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from graphnode.api.errors import ApiError
from graphnode.runtime import metrics
from graphnode.settings import ApiSettings
from graphnode.stores.events import in_flight_key_for

logger = logging.getLogger(__name__)

#: The window of ``GRAPHNODE_MAX_SUBMISSIONS_PER_MINUTE``.
SUBMISSION_WINDOW_MS = 60_000
#: Retry-After of a refusal for jobs in flight: when a slot frees depends on the user's own
#: jobs (seconds for a small one, minutes for a large graph), so this is a polling pace; a
#: client following /v1/events submits again on its ``completed``/``failed`` event instead.
IN_FLIGHT_RETRY_AFTER_SECONDS = 15
#: The longest a check waits for Redis (connect, and each reply), with no retries: a frozen
#: Redis adds at most this to a submission, which then goes through unchecked.
REDIS_TIMEOUT_SECONDS = 1.0
#: The HTTP status of a refusal.
TOO_MANY_REQUESTS = 429
#: What every job-accepting endpoint may answer besides its own, in /openapi.json.
TOO_MANY = {TOO_MANY_REQUESTS: (
    "Over a per-user limit: too_many_jobs_in_flight (GRAPHNODE_MAX_JOBS_IN_FLIGHT) or "
    "too_many_submissions (GRAPHNODE_MAX_SUBMISSIONS_PER_MINUTE); Retry-After says when to "
    "retry", None)}


class Refusal(StrEnum):
    """Why a submission was refused: the error code, and the metric's ``reason`` label."""

    IN_FLIGHT = "too_many_jobs_in_flight"
    SUBMISSIONS = "too_many_submissions"
    STREAMS = "too_many_streams"


#: KEYS: the user's in-flight set, the user's submissions set. ARGV: the task id, the
#: in-flight limit, the in-flight expiry (ms), the per-minute limit, the window (ms); a
#: limit of 0 is off and keeps nothing. Returns {0} (admitted and recorded), {1} (too many
#: in flight) or {2, ms until the oldest submission leaves the window}.
ADMIT_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local max_in_flight, expiry = tonumber(ARGV[2]), tonumber(ARGV[3])
local max_submissions, window = tonumber(ARGV[4]), tonumber(ARGV[5])
if max_in_flight > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - expiry)
  if redis.call('ZCARD', KEYS[1]) >= max_in_flight then
    return {1}
  end
end
if max_submissions > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
  if redis.call('ZCARD', KEYS[2]) >= max_submissions then
    local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
    return {2, tonumber(oldest[2]) + window - now}
  end
  redis.call('ZADD', KEYS[2], now, ARGV[1])
  redis.call('PEXPIRE', KEYS[2], window)
end
if max_in_flight > 0 then
  redis.call('ZADD', KEYS[1], now, ARGV[1])
  redis.call('PEXPIRE', KEYS[1], expiry)
end
return {0}
"""


#: An open stream's lease lasts this many keep-alives unrenewed: a live stream renews it
#: with its frames, and the slot of a stream whose API process was killed frees itself.
STREAM_LEASE_KEEPALIVES = 3

#: KEYS: the user's streams set. ARGV: the lease id, the cap, the lease (ms). Returns 1 if
#: the stream is admitted and leased, 0 if the user has ``cap`` live streams already.
OPEN_STREAM_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[3]))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""
#: KEYS: the user's streams set. ARGV: the lease id, the lease (ms). Renews a held lease.
RENEW_STREAM_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
redis.call('ZADD', KEYS[1], 'XX', now, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""


def streams_key_for(user_id: str) -> str:
    return f"graphnode:streams:{user_id}"


def submissions_key_for(user_id: str) -> str:
    return f"graphnode:submissions:{user_id}"


def redis_for_limits(url: str) -> Any:
    """A client of its own for the checks: short timeouts and no retries (the API's shared
    client waits 5 s, fine for opening an event stream, not for every submission)."""
    return redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT_SECONDS,
                                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                                retry=Retry(NoBackoff(), 0))


class Limiter:
    """Admits a user's submission or refuses it with a 429; frees a slot the API ends."""

    def __init__(self, settings: ApiSettings, client: Any | None = None) -> None:
        self.max_in_flight = settings.max_jobs_in_flight
        self.max_submissions = settings.max_submissions_per_minute
        self.max_streams = settings.max_open_streams
        self.expiry_ms = settings.in_flight_expiry_seconds * 1000
        self.client = client if client is not None else redis_for_limits(settings.redis_url)
        self._admit = self.client.register_script(ADMIT_SCRIPT)
        self._open_stream = self.client.register_script(OPEN_STREAM_SCRIPT)
        self._renew_stream = self.client.register_script(RENEW_STREAM_SCRIPT)

    @property
    def enabled(self) -> bool:
        return bool(self.max_in_flight or self.max_submissions)

    def admit(self, user_id: str, task_id: str) -> None:
        """Record ``task_id`` as in flight and submitted, or raise the 429 that says which
        limit (and setting) it passed; unchecked if Redis does not answer."""
        if not self.enabled:
            return
        try:
            verdict = self._admit(
                keys=[in_flight_key_for(user_id), submissions_key_for(user_id)],
                args=[task_id, self.max_in_flight, self.expiry_ms, self.max_submissions,
                      SUBMISSION_WINDOW_MS])
        except redis.RedisError as exc:
            metrics.LIMIT_CHECKS_SKIPPED.inc()
            logger.warning("submission %s of %s admitted unchecked: Redis is unavailable (%s)",
                           task_id, user_id, exc)
            return
        if verdict[0] == 1:
            self._refuse(Refusal.IN_FLIGHT, IN_FLIGHT_RETRY_AFTER_SECONDS,
                         f"{self.max_in_flight} of your jobs are in flight, the limit "
                         "(GRAPHNODE_MAX_JOBS_IN_FLIGHT); submit again when one ends "
                         "(its completed or failed event on /v1/events)")
        if verdict[0] == 2:
            self._refuse(Refusal.SUBMISSIONS, max(1, math.ceil(verdict[1] / 1000)),
                         f"{self.max_submissions} submissions in the last minute, the limit "
                         "(GRAPHNODE_MAX_SUBMISSIONS_PER_MINUTE)")

    def release(self, user_id: str, task_id: str) -> None:
        """Free the slot of a job the API itself ended or never recorded. A Redis failure is
        logged: the job's final event (from the outbox) or the expiry frees it later."""
        if not self.max_in_flight:
            return
        try:
            self.client.zrem(in_flight_key_for(user_id), task_id)
        except redis.RedisError as exc:
            logger.warning("in-flight slot of %s stays until its final event is published or "
                           "it expires: Redis is unavailable (%s)", task_id, exc)

    def open_stream(self, user_id: str, keepalive_seconds: float) -> StreamLease | None:
        """Lease one of the user's ``GRAPHNODE_MAX_OPEN_STREAMS`` event streams, or raise the
        429; None when there is no cap or Redis does not answer (the stream, which needs
        Redis too, then answers for itself)."""
        if not self.max_streams:
            return None
        lease = StreamLease(self, user_id, uuid.uuid4().hex,
                            max(1, round(keepalive_seconds * STREAM_LEASE_KEEPALIVES * 1000)))
        try:
            admitted = self._open_stream(keys=[lease.key],
                                         args=[lease.lease_id, self.max_streams, lease.ms])
        except redis.RedisError as exc:
            metrics.LIMIT_CHECKS_SKIPPED.inc()
            logger.warning("event stream of %s opened unchecked: Redis is unavailable (%s)",
                           user_id, exc)
            return None
        if not admitted:
            self._refuse(Refusal.STREAMS, max(1, math.ceil(keepalive_seconds)),
                         f"{self.max_streams} of your event streams are open, the limit "
                         "(GRAPHNODE_MAX_OPEN_STREAMS); close one (a tab, a follower) first")
        return lease

    @staticmethod
    def _refuse(reason: Refusal, retry_after: int, message: str) -> None:
        metrics.LIMIT_REFUSALS.labels(reason.value).inc()
        raise ApiError(TOO_MANY_REQUESTS, reason.value, message,
                       {"Retry-After": str(retry_after)})


class StreamLease:
    """One open event stream's slot: renewed while it sends, given back when it closes.
    Both are best effort: a Redis that does not answer lets the lease run out instead."""

    def __init__(self, limiter: Limiter, user_id: str, lease_id: str, ms: int) -> None:
        self.limiter, self.lease_id, self.ms = limiter, lease_id, ms
        self.key = streams_key_for(user_id)
        self._renewed = time.monotonic()

    def held(self, frames: Iterator[str]) -> Iterator[str]:
        """``frames``, renewing the lease at most once a third of it, and closing it after."""
        try:
            for frame in frames:
                if time.monotonic() - self._renewed >= self.ms / 1000 / STREAM_LEASE_KEEPALIVES:
                    self._renewed = time.monotonic()
                    self._call(self.limiter._renew_stream, keys=[self.key],
                               args=[self.lease_id, self.ms])
                yield frame
        finally:
            close = getattr(frames, "close", None)
            if close is not None:  # the stream's own clean-up (its Redis subscription) first
                close()
            self.close()

    def close(self) -> None:
        self._call(self.limiter.client.zrem, self.key, self.lease_id)

    def _call(self, command: Any, *args: Any, **kwargs: Any) -> None:
        try:
            command(*args, **kwargs)
        except redis.RedisError as exc:
            logger.warning("stream lease %s not updated (%s); it runs out by itself",
                           self.lease_id, exc)
