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

Remote control (``inspect``, ``control``, ``status``) needs a reply queue per caller and is
not carried; ``SqsControl`` says so in one line and points at ``graphnode status``.
"""

from __future__ import annotations

from typing import Any

from celery.app.control import Control
from kombu.transport.SQS import Channel as SqsChannel
from kombu.transport.SQS import Transport as SqsTransport

#: Celery's default event exchange.
EVENT_EXCHANGE = "celeryev"
REMOTE_CONTROL_UNSUPPORTED = (
    "remote control (inspect, control, status) does not run over SQS here; workers, their "
    "running tasks and the queues: graphnode status; live task events: celery -A graphnode "
    "events --dump, or Flower"
)


class Channel(SqsChannel):
    @property
    def events_queue(self) -> str | None:
        return self.transport_options.get("graphnode_events_queue")

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

    def _delete_message(self, queue_name: str, message: dict[str, Any]) -> None:
        """Delete a message of a queue consumed without acks, with the blocking client."""
        canonical = self.canonical_queue_name(queue_name)
        self.sqs(queue=canonical).delete_message(
            QueueUrl=self._new_queue(queue_name), ReceiptHandle=message["ReceiptHandle"])


class Transport(SqsTransport):
    Channel = Channel


class SqsControl(Control):
    """Remote control as far as SQS carries it: the receivers' wake-up call is dropped
    (workers send heartbeats on their own); every other command is refused in one line."""

    def broadcast(self, command: str, *args: Any, **kwargs: Any) -> Any:
        if command == "heartbeat":
            return None
        from celery.bin.base import CeleryCommandException
        from celery.platforms import EX_UNAVAILABLE

        raise CeleryCommandException(message=REMOTE_CONTROL_UNSUPPORTED,
                                     exit_code=EX_UNAVAILABLE)
