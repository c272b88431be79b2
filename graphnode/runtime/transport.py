"""Celery events over SQS: kombu's SQS transport, with what Flower and ``celery events`` need.

Workers publish task events and worker heartbeats to Celery's event exchange; on SQS that
exchange is an SNS topic fanning out to one SQS queue per dashboard, all declared in
``topology.yaml`` (``events``) and created by ``graphnode provision`` or terraform. kombu 5.7
can fan out over SNS (``supports_fanout``); four things stand in the way, each closed here:

- Celery declares the event exchange as ``topic`` on SQS, which kombu routes in memory
  (to nobody): the channel declares it as ``fanout``.
- The receiver names its queue ``<prefix>.<uuid>``: with ``event_queue_prefix`` set to the
  consumer's declared queue, the channel maps that name onto the declared queue.
- A receiver consumes without acknowledgements, and kombu deletes such messages through its
  asynchronous client, which needs the worker's event loop (``AttributeError ... on_close``
  in Flower): the channel deletes them with the blocking client.
- The queue is provisioned and subscribed already: the receiver neither subscribes it nor
  deletes it when it stops.

One for a receive that fails: kombu's asynchronous client answers a timeout or a 5xx with
``[]``, on which its own handler calls ``.get`` (``AttributeError``), and any failed receive
ends the promise chain that schedules the next one, so the queue was never polled again: a
worker that met one SQS hiccup, or an emulator stopping first, went deaf with a traceback.
The channel logs one line and polls that queue again after ``RECEIVE_RETRY_SECONDS``.

Events leave the hot path: kombu publishes each one with a synchronous SNS ``Publish`` from
the worker's main loop; the channel hands them to a background batcher
(``graphnode.runtime.event_batches``) that packs and publishes them every
``graphnode_events_flush_seconds`` (0: kombu's own publish per event).

And one for messages that wait: a receive names its own visibility timeout, the heartbeat's
window (``graphnode_receive_visibility_seconds``), not the queue's (graph-req: 300 s). A
worker that dies before its first beat, or a long poll left open by a worker that stopped
(SQS, and the emulator, may still hand it a message that nobody will read), hides a
message for seconds, not minutes.

One more, for throughput: while every prefetch slot is busy, kombu re-checks with
``call_soon``, which its event loop runs only after its next poll, up to a second later; so
each task was followed by up to a second of idling (measured: 20-40 % of the gaps between
tasks were 1.0 s). The channel re-checks on a short timer instead.

And one for memory and latency: kombu builds a new ``boto3.Session`` and client for every
channel, and Celery's producer pool opens up to ``broker_pool_limit`` connections (one
channel each) in a process that sends from many threads or greenlets, as the API does.
Each session loads its own service models: about 8 MB and 50 ms of CPU. boto3 clients are
thread-safe, so the channels of one process share one client per service and credentials.

Remote control (``inspect``, ``control``, ``status``) needs a reply queue per caller and is
not carried; ``SqsControl`` says so in one line and points at ``graphnode status``. Flower
lists workers from ``inspect`` answers (``/api/workers``, its worker pages): those it asks
are answered from the records the workers keep in the bucket (``graphnode.runtime.beacon``).
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from celery.app.control import Control
from kombu.transport.SQS import Channel as SqsChannel
from kombu.transport.SQS import Transport as SqsTransport
from vine import promise

from graphnode.runtime.beacon import INSPECTABLE, inspect_reply
from graphnode.runtime.event_batches import HEARTBEAT_ROUTING_KEY, batcher_for, flush_all

logger = logging.getLogger(__name__)

#: Broadcasts that readers send (a receiver's wake-up, Flower turning events on) and that
#: need no answer: the workers send events and heartbeats without being asked.
WORKERS_DO_IT_ANYWAY = frozenset({"heartbeat", "enable_events"})

#: Celery's commands that are remote control and nothing else (Flower runs inside a
#: command too, ``celery flower``).
REMOTE_CONTROL_COMMANDS = frozenset({"inspect", "control", "status"})

#: Celery's default event exchange.
EVENT_EXCHANGE = "celeryev"
REMOTE_CONTROL_UNSUPPORTED = (
    "remote control (inspect, control, status) does not run over SQS here; workers, their "
    "running tasks and the queues: graphnode status; live task events: celery -A graphnode "
    "events --dump, or Flower"
)


class _PredefinedQueues(dict[str, Any]):
    """The declared queues, where ``<events queue>.<anything>`` (the receiver's name for its
    queue) is the events queue itself, wherever kombu looks a queue up."""

    def __init__(self, queues: dict[str, Any], events_queue: str | None) -> None:
        super().__init__(queues)
        self.events_queue = events_queue

    def _key(self, name: Any) -> Any:
        events = self.events_queue
        if events and isinstance(name, str) and name.startswith(f"{events}."):
            return events
        return name

    def __contains__(self, name: object) -> bool:
        return super().__contains__(self._key(name))

    def __getitem__(self, name: str) -> Any:
        return super().__getitem__(self._key(name))

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(self._key(name), default)


#: How soon a consumer whose prefetch slots are all busy checks again for a free one: the
#: delay a finished task adds before the next receive, for a few cheap checks a second.
SLOT_RECHECK_SECONDS = 0.05

#: How long a consumer waits after a failed receive (SQS unreachable, a 5xx, a timeout)
#: before it polls that queue again: once a second keeps a dead endpoint from a busy loop.
RECEIVE_RETRY_SECONDS = 1.0


def names_missing_queue(exc: BaseException) -> bool:
    """Whether SQS answered that the queue does not exist (deleted, or an emulator that
    restarted empty)."""
    return "NonExistentQueue" in str(exc) or "QueueDoesNotExist" in str(exc)


class ReceiveFailed(Exception):
    """A receive that SQS answered with a timeout or a server error."""


#: One boto3 client per process, service, region, credentials and endpoint, shared by every
#: channel (see the module docstring).
_shared_clients: dict[tuple[Any, ...], Any] = {}
_shared_clients_lock = threading.Lock()


class Channel(SqsChannel):
    def _new_boto_client(self, service: str, region: Any, access_key_id: Any,
                         secret_access_key: Any, session_token: Any = None,
                         config: Any = None) -> Any:
        """kombu's client, shared by the channels of this process. Temporary credentials
        (an STS session token, renewed hourly) and clients with a config of their own (the
        short-timeout release client) are built per call as kombu does."""
        if session_token is not None or config is not None:
            return super()._new_boto_client(service, region, access_key_id, secret_access_key,
                                            session_token, config)
        key = (os.getpid(), service, region, access_key_id, secret_access_key,
               self.endpoint_url, self.is_secure,
               repr(sorted((self.transport_options.get("client-config") or {}).items())))
        with _shared_clients_lock:
            client = _shared_clients.get(key)
            if client is None:
                client = _shared_clients[key] = super()._new_boto_client(
                    service, region, access_key_id, secret_access_key)
            return client

    @property
    def events_queue(self) -> str | None:
        return self.transport_options.get("graphnode_events_queue")

    @property
    def predefined_queues(self) -> dict[str, Any]:
        return _PredefinedQueues(self.transport_options.get("predefined_queues", {}),
                                 self.events_queue)

    def exchange_declare(self, exchange: Any = None, type: str = "direct",
                         *args: Any, **kwargs: Any) -> Any:
        if exchange == EVENT_EXCHANGE and self.supports_fanout:
            type = "fanout"
        return super().exchange_declare(exchange, type, *args, **kwargs)

    def canonical_queue_name(self, queue_name: str) -> str:
        events = self.events_queue
        if events and queue_name.startswith(f"{events}."):
            return events
        return super().canonical_queue_name(queue_name)

    def _is_events_queue(self, queue: str) -> bool:
        return bool(self.events_queue) and self.canonical_queue_name(queue) == self.events_queue

    def _subscribe_queue_to_fanout_exchange_if_required(self, queue_name: str) -> None:
        if not self._is_events_queue(queue_name):
            super()._subscribe_queue_to_fanout_exchange_if_required(queue_name)

    def _delete(self, queue: str, *args: Any, **kwargs: Any) -> None:
        if not self._is_events_queue(queue):
            super()._delete(queue, *args, **kwargs)

    def _loop1(self, queue: str, messages_fetched: Any = None) -> None:
        if not messages_fetched and not self.connection.polling_interval:
            # An empty long poll, or no free slot: look again shortly (a timer wakes the
            # loop; kombu's call_soon would wait for its next poll, up to a second).
            self.hub.call_later(SLOT_RECHECK_SECONDS, self._schedule_queue, queue)
            return
        super()._loop1(queue, messages_fetched)

    def _schedule_queue(self, queue: str) -> None:
        if queue in self._active_queues:
            if self.qos.can_consume():
                self._get_bulk_async(queue, callback=promise(
                    self._loop1, (queue,), on_error=self._on_receive_failed))
            else:
                self._loop1(queue)

    def _get_from_sqs(self, queue_name: str, queue_url: str, connection: Any, count: int = 1,
                      callback: Any = None) -> Any:
        """kombu's long poll, with the heartbeat's window as the receive's visibility."""
        visibility = (None if self._is_events_queue(queue_name)
                      else self.transport_options.get("graphnode_receive_visibility_seconds"))
        if callback is not None and callback.on_error is None:
            # kombu's client raises a 4xx answer (a queue that does not exist) in a promise
            # that carries no error handler, so it reached the event loop: "Unrecoverable
            # error", the worker exited. It is a failed receive like any other.
            callback.on_error = lambda *args: self._on_receive_failed(queue_name, args[-1])
        return connection.receive_message(queue_name, queue_url, number_messages=count,
                                          visibility_timeout=visibility,
                                          wait_time_seconds=self.wait_time_seconds,
                                          callback=callback)

    def _on_messages_ready(self, queue: Any, qname: str, messages: Any) -> int:
        if isinstance(messages, list):  # kombu's answer to a timeout or a 5xx
            raise ReceiveFailed("SQS answered with a timeout or a server error")
        return super()._on_messages_ready(queue, qname, messages)

    def _on_receive_failed(self, queue: str, exc: BaseException) -> None:
        logger.warning("receive from %s failed (%s); polling again in %.0f s",
                       queue, exc, RECEIVE_RETRY_SECONDS)
        on_missing_queue = self.transport_options.get("graphnode_on_missing_queue")
        if on_missing_queue is not None and names_missing_queue(exc):
            on_missing_queue(queue)
        self.hub.call_later(RECEIVE_RETRY_SECONDS, self._schedule_queue, queue)

    def _put_fanout(self, exchange: str, message: dict[str, Any], routing_key: str,
                    **kwargs: Any) -> None:
        flush_seconds = self.transport_options.get("graphnode_events_flush_seconds", 0)
        if exchange != EVENT_EXCHANGE or not flush_seconds:
            return super()._put_fanout(exchange, message, routing_key, **kwargs)
        topic_arn = self.fanout._get_or_create_topic(exchange)
        batcher_for(self.fanout.get_client(exchange), topic_arn, flush_seconds).put(
            message, heartbeat=routing_key == HEARTBEAT_ROUTING_KEY)

    def close(self) -> None:
        """A closing connection (a worker stopping) first publishes the events it queued."""
        flush_all()
        super().close()

    def _delete_message(self, queue_name: str, message: dict[str, Any]) -> None:
        """Delete a message of a queue consumed without acks, with the blocking client."""
        canonical = self.canonical_queue_name(queue_name)
        self.sqs(queue=canonical).delete_message(
            QueueUrl=self._new_queue(queue_name), ReceiptHandle=message["ReceiptHandle"])


class Transport(SqsTransport):
    Channel = Channel


class SqsControl(Control):
    """Remote control as far as SQS carries it: no worker listens, so a broadcast reaches
    nobody. From Celery's remote-control commands (``celery inspect ping``) that is one
    line pointing at ``graphnode status``. Elsewhere (Flower), the inspections that list
    workers are answered from the workers' records; anything else (a control, a receiver's
    wake-up call; workers send events and heartbeats on their own) reaches nobody."""

    def broadcast(self, command: str, *args: Any, **kwargs: Any) -> Any:
        import click

        cli = click.get_current_context(silent=True)
        if command in WORKERS_DO_IT_ANYWAY or cli is None or (
                cli.command.name not in REMOTE_CONTROL_COMMANDS):
            if kwargs.get("reply") and command in INSPECTABLE:
                return self._answer_from_records(command, kwargs.get("destination"))
            logger.debug("remote control %r not sent: not carried over SQS", command)
            return [] if kwargs.get("reply") else None
        from celery.bin.base import CeleryCommandException
        from celery.platforms import EX_UNAVAILABLE

        raise CeleryCommandException(message=REMOTE_CONTROL_UNSUPPORTED,
                                     exit_code=EX_UNAVAILABLE)

    def _answer_from_records(self, command: str, destination: Any) -> list[dict[str, Any]]:
        """One reply per live worker (or per ``destination``), as Celery's replies come."""
        from graphnode.runtime.status import live_workers

        try:
            records = live_workers(self.app.graphnode_settings)
        except Exception as exc:  # bucket unreachable: no worker answers, as when none runs
            logger.warning("inspect %s: worker records not read (%s)", command, exc)
            return []
        wanted = [destination] if isinstance(destination, str) else destination
        return [{record["hostname"]: inspect_reply(record, command)} for record in records
                if not wanted or record["hostname"] in wanted]
