"""Celery events off the worker's hot path: packed, batched SNS publishes from a thread.

kombu publishes each Celery event (a task state, a worker heartbeat) with one synchronous
SNS ``Publish`` from the worker's main loop, so every task waited on a few SNS round trips
and the loop received nothing meanwhile. Here the transport hands events to an
``EventBatcher`` and returns at once; its thread publishes what gathered every
``flush_seconds``: the events are packed into messages whose body is a list of events (the
form of Celery's own ``task.multi`` messages, which Flower's and ``celery events``'
receivers read event by event), and up to ``SNS_BATCH_ENTRIES`` such messages go in one
``PublishBatch``. A busy worker sends one SNS call per flush whatever its rate, and each
reader's queue gets one SQS message per packed message, not one per event.

When SNS is slow or away the buffer holds ``buffer_limit`` events and then makes room by
dropping the oldest heartbeat (the next one says the same) before any task state, each
counted in ``graphnode_events_dropped_total``. Events are a view for operators, never the
job's state: a job's outcome travels on graph-res and lives in the store.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from graphnode.runtime.metrics import EVENT_PUBLISHES, EVENTS_DROPPED

logger = logging.getLogger(__name__)

#: SNS takes at most 10 messages in one PublishBatch call.
SNS_BATCH_ENTRIES = 10
#: SNS limits one PublishBatch, all its messages together, to 256 KiB.
SNS_BATCH_BYTES = 256 * 1024
#: A packed message stays under a tenth of that, so that ten of them fit one call; the
#: margin covers the JSON of kombu's envelope around the events.
PACKED_MESSAGE_BYTES = SNS_BATCH_BYTES // SNS_BATCH_ENTRIES - 2048
#: Events held while SNS is slow or away; past this, heartbeats go first.
EVENT_BUFFER_LIMIT = 10_000
#: After a failed PublishBatch (SNS unreachable, throttled), the same events are tried
#: again this much later.
PUBLISH_RETRY_SECONDS = 1.0
#: How long a closing channel or an exiting process waits for the buffer to drain. It stays
#: well under the grace a supervisor gives a stopping process (honcho's 5 s, Kubernetes' 30 s),
#: and a publish that fails meanwhile is not tried again: a stopping worker gives up its last
#: events (counted as ``unsent``) rather than be killed while it waits for SNS.
CLOSE_FLUSH_SECONDS = 2.0

#: Celery's routing key for a worker heartbeat (event type ``worker-heartbeat``).
HEARTBEAT_ROUTING_KEY = "worker.heartbeat"

#: Sends up to ``SNS_BATCH_ENTRIES`` messages in one call and answers the positions of
#: those worth trying again; raises when the call itself failed.
PublishBatch = Callable[[list[str]], list[int]]


def pack(messages: Iterable[dict[str, Any]], limit: int = PACKED_MESSAGE_BYTES) -> list[str]:
    """kombu messages (as ``_put_fanout`` gets them) as SNS message texts, consecutive JSON
    events packed into one message with a list body while it stays under ``limit`` bytes.
    A message that is not plain JSON, or an event larger than the limit, goes alone."""
    packed: list[str] = []
    template: dict[str, Any] | None = None
    events: list[Any] = []
    size = 0

    def close_pack() -> None:
        nonlocal template, events, size
        if template is not None:
            packed.append(json.dumps({**template, "body": json.dumps(events)}))
        template, events, size = None, [], 0

    for message in messages:
        body = message.get("body")
        plain = (isinstance(body, str) and message.get("content-type") == "application/json"
                 and not message.get("properties", {}).get("body_encoding"))
        length = len(body.encode()) if isinstance(body, str) else 0
        if not plain or length > limit:
            close_pack()
            packed.append(json.dumps(message))
            continue
        if template is not None and size + length > limit:
            close_pack()
        if template is None:
            template = message
        decoded = json.loads(body)
        events.extend(decoded if isinstance(decoded, list) else [decoded])
        size += length + 2
    close_pack()
    return packed


def sns_publish_batch(client: Any, topic_arn: str) -> PublishBatch:
    """A ``PublishBatch`` of SNS. Entries SNS refused as the sender's fault (too large,
    malformed) are logged and left out of the retry; the rest it failed are retried."""

    def publish(messages: list[str]) -> list[int]:
        EVENT_PUBLISHES.inc()
        answer = client.publish_batch(TopicArn=topic_arn, PublishBatchRequestEntries=[
            {"Id": str(n), "Message": text} for n, text in enumerate(messages)])
        retry = []
        for failed in answer.get("Failed", []):
            if failed.get("SenderFault"):
                logger.warning("SNS refused an events message (%s: %s); dropped",
                               failed.get("Code"), failed.get("Message"))
                EVENTS_DROPPED.labels(kind="refused").inc()
            else:
                retry.append(int(failed["Id"]))
        return retry

    return publish


class EventBatcher:
    """A bounded buffer of events and the thread that publishes it in packed batches."""

    def __init__(self, publish_batch: PublishBatch, flush_seconds: float,
                 buffer_limit: int = EVENT_BUFFER_LIMIT) -> None:
        self.publish_batch = publish_batch
        self.flush_seconds = flush_seconds
        self.buffer_limit = buffer_limit
        #: (queued at, is a heartbeat, kombu's message), oldest first.
        self._pending: deque[tuple[float, bool, dict[str, Any]]] = deque()
        self._publishing = False
        #: Last-try flushes waiting; meanwhile a failed publish is given up, not retried.
        self._last_tries = 0
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def put(self, message: dict[str, Any], heartbeat: bool = False) -> None:
        """Queue one event (kombu's message) and return at once."""
        with self._changed:
            if len(self._pending) >= self.buffer_limit:
                self._drop_one()
            self._pending.append((time.monotonic(), heartbeat, message))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="graphnode-events",
                                                daemon=True)
                self._thread.start()
            self._changed.notify_all()

    def flush(self, timeout: float = CLOSE_FLUSH_SECONDS, last_try: bool = False) -> bool:
        """Wait until everything queued so far is published (True) or ``timeout`` passed.
        With ``last_try`` (a closing worker) each event is tried once more, at once, and
        what fails is given up rather than waited for."""
        deadline = time.monotonic() + timeout
        with self._changed:
            if last_try:
                self._last_tries += 1
                self._pending = deque((0.0, heartbeat, message)
                                      for _, heartbeat, message in self._pending)
                self._changed.notify_all()
            try:
                while self._pending or self._publishing:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    self._changed.wait(left)
            finally:
                self._last_tries -= last_try
        return True

    def _drop_one(self) -> None:
        for position, (_, heartbeat, _) in enumerate(self._pending):
            if heartbeat:
                del self._pending[position]
                EVENTS_DROPPED.labels(kind="heartbeat").inc()
                return
        self._pending.popleft()
        EVENTS_DROPPED.labels(kind="task").inc()

    def _take(self) -> list[dict[str, Any]]:
        """Everything queued, once the oldest event has waited ``flush_seconds``."""
        with self._changed:
            while True:
                if not self._pending:
                    self._changed.wait()
                    continue
                left = self._pending[0][0] + self.flush_seconds - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
            taken = [message for _, _, message in self._pending]
            self._pending.clear()
            self._publishing = True
            return taken

    def _run(self) -> None:
        while True:
            unsent = self._publish(pack(self._take()))
            with self._changed:
                self._publishing = False
                if unsent and self._last_tries:
                    logger.warning("%d events messages not published before closing",
                                   len(unsent))
                    EVENTS_DROPPED.labels(kind="unsent").inc(len(unsent))
                    unsent = []
                # Back in front, in their order; a retry goes out at once, so it waits here.
                queued_at = time.monotonic() + PUBLISH_RETRY_SECONDS - self.flush_seconds
                self._pending.extendleft((queued_at, False, json.loads(text))
                                         for text in reversed(unsent))
                self._changed.notify_all()

    def _publish(self, texts: list[str]) -> list[str]:
        """Publish in calls within SNS's limits; what is worth trying again."""
        unsent: list[str] = []
        for chunk in batches(texts):
            try:
                unsent += [chunk[n] for n in self.publish_batch(chunk)]
            except Exception as exc:
                logger.warning("events not published (%s); trying again in %.0f s", exc,
                               PUBLISH_RETRY_SECONDS)
                unsent += chunk
        return unsent


def batches(texts: list[str]) -> list[list[str]]:
    """Consecutive runs of at most ``SNS_BATCH_ENTRIES`` texts and ``SNS_BATCH_BYTES``."""
    runs: list[list[str]] = []
    size = 0
    for text in texts:
        length = len(text.encode())
        if not runs or len(runs[-1]) == SNS_BATCH_ENTRIES or size + length > SNS_BATCH_BYTES:
            runs.append([])
            size = 0
        runs[-1].append(text)
        size += length
    return runs


_batchers: dict[tuple[int, int, str], EventBatcher] = {}
_batchers_lock = threading.Lock()


def batcher_for(client: Any, topic_arn: str, flush_seconds: float) -> EventBatcher:
    """The process's batcher for a topic and client (a forked child makes its own)."""
    key = (os.getpid(), id(client), topic_arn)
    with _batchers_lock:
        batcher = _batchers.get(key)
        if batcher is None:
            batcher = _batchers[key] = EventBatcher(sns_publish_batch(client, topic_arn),
                                                    flush_seconds)
        return batcher


@atexit.register
def flush_all(timeout: float = CLOSE_FLUSH_SECONDS) -> None:
    """Publish what this process still holds (a worker's last task states and its
    ``worker-offline``), waiting at most ``timeout`` in all."""
    deadline = time.monotonic() + timeout
    with _batchers_lock:
        mine = [b for (pid, _, _), b in _batchers.items() if pid == os.getpid()]
    for batcher in mine:
        if not batcher.flush(max(0.0, deadline - time.monotonic()), last_try=True):
            logger.warning("events not published before exit: SNS did not answer")
