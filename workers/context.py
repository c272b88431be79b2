"""Per-process resources of the result worker, built once on first use."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphnode.contract.payloads import PayloadStore
from graphnode.settings import ResultWorkerSettings
from graphnode.stores import Store, open_store
from graphnode.stores.events import EventPublisher


@dataclass(frozen=True)
class ResultContext:
    store: Store
    payloads: PayloadStore
    events: EventPublisher


def build_result_context() -> ResultContext:
    settings = ResultWorkerSettings()
    return ResultContext(
        store=open_store(settings.store_url, busy_timeout=settings.store_busy_timeout_seconds),
        payloads=PayloadStore(settings),
        events=EventPublisher(settings.redis_url),
    )


@lru_cache(maxsize=1)
def result_context() -> ResultContext:
    return build_result_context()


def consumes_results(sender: Any, settings: ResultWorkerSettings) -> bool:
    """Whether the worker that just became ready (``worker_ready``'s sender) consumes
    graph-res: the role that owns the store and Redis, where the main-process threads
    (outbox relay, job deadline) run."""
    consumed = set(sender.app.amqp.queues.consume_from or {}) if sender is not None else set()
    return settings.result_queue in consumed
