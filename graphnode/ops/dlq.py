"""Dead-letter queues for operators: see what landed there, and send it back once fixed.

A message reaches a DLQ after maxReceiveCount failed receives. Requests have already ended
their jobs FAILED by then; a result that could not be persisted (the store was down, say)
is worth re-driving once the cause is fixed, since its handler is idempotent.
"""

from __future__ import annotations

import json
from typing import Any

from graphnode.aws import aws_client
from graphnode.contract.topology import dlq_name
from graphnode.settings import CommonSettings

#: SQS returns at most 10 messages per ReceiveMessage.
SQS_MAX_BATCH = 10


def describe(body: str) -> dict[str, Any]:
    """taskType and taskId of a Celery message body, as far as they can be read."""
    try:
        message = json.loads(body)
        args = json.loads(message["body"])[0] if isinstance(message.get("body"), str) else []
        envelope = args[0] if args else {}
        return {"taskType": envelope.get("taskType"), "taskId": envelope.get("taskId"),
                "task": message.get("headers", {}).get("task")}
    except (ValueError, KeyError, TypeError, IndexError, AttributeError):
        return {"taskType": None, "taskId": None, "task": None}


def peek(settings: CommonSettings, queue: str, limit: int = SQS_MAX_BATCH) -> dict[str, Any]:
    """How many messages wait in the queue's DLQ, and what the first few are."""
    sqs = aws_client("sqs", settings)
    url = sqs.get_queue_url(QueueName=dlq_name(queue))["QueueUrl"]
    count = int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"])
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=min(limit, SQS_MAX_BATCH),
                                   VisibilityTimeout=0, WaitTimeSeconds=0).get("Messages", [])
    return {"queue": dlq_name(queue), "count": count,
            "messages": [describe(m["Body"]) for m in received]}


def redrive(settings: CommonSettings, queue: str) -> int:
    """Move every message of the queue's DLQ back to the queue; the number moved.

    Each message is sent to the queue before it is deleted from the DLQ, so a failure in
    between duplicates a message (harmless: handlers are idempotent) and never loses one.
    """
    sqs = aws_client("sqs", settings)
    source = sqs.get_queue_url(QueueName=dlq_name(queue))["QueueUrl"]
    target = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    moved = 0
    while True:
        batch = sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=SQS_MAX_BATCH,
                                    VisibilityTimeout=60, WaitTimeSeconds=0).get("Messages", [])
        if not batch:
            return moved
        for message in batch:
            sqs.send_message(QueueUrl=target, MessageBody=message["Body"])
            sqs.delete_message(QueueUrl=source, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
