"""A moto server that keeps SQS's RedriveAllowPolicy, for the terraform tests.

moto 5.2 does not return a queue's RedriveAllowPolicy (terraform's
aws_sqs_queue_redrive_allow_policy then waits forever for it to appear), and every
SetQueueAttributes call without a Policy clears the queue's Policy. This patches both, as SQS
behaves, and runs ``moto.server`` with the given arguments:

    python -m tests.support.moto_sqs_redrive_allow -H 127.0.0.1 -p 4566
"""

from __future__ import annotations

import json
from typing import Any

from moto.server import main
from moto.sqs.models import Queue

_set_attributes = Queue._set_attributes


def _set_attributes_keeping_policy(self: Queue, attributes: dict[str, Any],
                                   now: float | None = None) -> None:
    policy = getattr(self, "policy", None)
    _set_attributes(self, attributes, now)
    if "Policy" not in attributes:
        self.policy = policy


def _attributes(self: Queue) -> dict[str, Any]:
    result = _base_attributes.fget(self)
    redrive_allow = getattr(self, "redrive_allow_policy", None)
    if redrive_allow:
        # SQS answers the policy as it was given, JSON text.
        result["RedriveAllowPolicy"] = (redrive_allow if isinstance(redrive_allow, str)
                                        else json.dumps(redrive_allow))
    return result


_base_attributes = Queue.attributes
Queue._set_attributes = _set_attributes_keeping_policy  # type: ignore[method-assign]
Queue.attributes = property(_attributes)  # type: ignore[assignment]
Queue.BASE_ATTRIBUTES = [*Queue.BASE_ATTRIBUTES, "RedriveAllowPolicy"]
Queue.redrive_allow_policy = None

if __name__ == "__main__":
    main()
