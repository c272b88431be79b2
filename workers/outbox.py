"""The outbox relay: events committed with job state are published once Redis answers.

A result handler publishes the outbox right after its commit; when Redis is down, the
events wait in the store, and this relay, a thread in the result worker's main process,
publishes them as soon as Redis is back, however long the outage lasts. Publication is
deduplicated in Redis by ``eventId``, so the relay and the handlers may race freely.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import signals

from graphnode.runtime.periodic import Periodic
from graphnode.settings import ResultWorkerSettings
from workers.context import ResultContext, build_result_context, consumes_results

logger = logging.getLogger(__name__)

#: Events published per pass; the rest wait for the next pass.
RELAY_BATCH = 100


def publish_pending(ctx: ResultContext, limit: int = RELAY_BATCH) -> int:
    """Publish what the outbox holds; the number of events handled. A Redis failure leaves
    the rest in the outbox and is logged, never raised: the commit already succeeded."""
    handled = 0
    for event in ctx.store.pending_events(limit):
        try:
            ctx.events.publish(event.userId, event.type, event.data, once_as=event.eventId,
                               ends_task=event.endsTaskId)
        except Exception as exc:  # redis.RedisError, or a socket error beneath it
            logger.warning("event %s stays in the outbox: Redis is unavailable (%s)",
                           event.eventId, exc)
            return handled
        ctx.store.mark_event_sent(event.eventId)
        handled += 1
    return handled


def relay_once(ctx: ResultContext) -> None:
    """One pass of the relay thread; a failing store is logged and tried again next pass."""
    try:
        publish_pending(ctx)
    except Exception:
        logger.exception("outbox relay pass failed")


@signals.worker_ready.connect(weak=False)
def _start_relay(sender: Any = None, **_: Any) -> None:
    """Only the result worker relays: it is the role that owns the store and Redis."""
    settings = ResultWorkerSettings()
    if consumes_results(sender, settings):
        # A context of its own: the cached one of the pool's children must not be shared
        # across a fork.
        ctx = build_result_context()
        Periodic("outbox-relay", settings.outbox_relay_seconds, lambda: relay_once(ctx)).start()
        logger.info("outbox relay started: every %.1f s", settings.outbox_relay_seconds)
