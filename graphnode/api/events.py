"""``GET /v1/events``: the caller's own Server-Sent Events, resumable with Last-Event-ID."""

from __future__ import annotations

import re

from flask import Blueprint, Response, request, stream_with_context

from graphnode.api.auth import current_user
from graphnode.api.errors import ApiError
from graphnode.api.openapi import Operation, documented
from graphnode.api.schemas import EventsQuery
from graphnode.api.services import services
from graphnode.stores.events import open_event_stream

EVENT_ID = re.compile(r"\d{1,20}-\d{1,20}")
#: Redis stream ids are two unsigned 64-bit numbers; a larger one makes XREAD fail.
MAX_STREAM_ID_PART = 2**64 - 1

def _valid_event_id(value: str) -> bool:
    return bool(EVENT_ID.fullmatch(value)) and all(
        int(part) <= MAX_STREAM_ID_PART for part in value.split("-"))


blueprint = Blueprint("events", __name__, url_prefix="/v1/events")


@blueprint.get("")
@documented(Operation(
    "The caller's own Server-Sent Events (progress, completed, failed, workspace.completed); "
    "`Last-Event-ID` (or `?lastEventId=`) replays what was missed. EventSource may pass the "
    "token as `?access_token=`.",
    {200: ("An endless text/event-stream", "text/event-stream"),
     400: ("A malformed Last-Event-ID", None),
     429: ("Over GRAPHNODE_MAX_OPEN_STREAMS open streams of this user (too_many_streams); "
           "Retry-After says when to retry", None)},
    query=(EventsQuery, ("access_token", "lastEventId")), tags=("events",)))
def stream() -> Response:
    user_id = current_user(allow_query_token=True)
    svc = services()
    last_event_id = request.headers.get("Last-Event-ID") or request.args.get("lastEventId")
    if last_event_id and not _valid_event_id(last_event_id):
        raise ApiError(400, "invalid_last_event_id",
                       "Last-Event-ID must look like 1700000000000-0 (two 64-bit numbers)")
    import redis

    keepalive = svc.settings.sse_keepalive_seconds
    lease = svc.limiter.open_stream(user_id, keepalive)
    try:
        frames = open_event_stream(svc.redis, user_id, last_event_id, keepalive)
    except redis.RedisError as exc:
        if lease is not None:
            lease.close()
        raise ApiError(503, "events_unavailable",
                       f"the event stream is unavailable ({type(exc).__name__}); "
                       "retry with Last-Event-ID") from None
    if lease is not None:
        frames = lease.held(frames)
    return Response(
        stream_with_context(frames),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
