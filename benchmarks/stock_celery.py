"""The peer on the queue-path bench: stock Celery 5 on kombu's own SQS transport, as a user
would set it up without GraphNode (defaults, acks late), with a task that does nothing but
note when it ran, for benchmarks/queue_path.py:

    GRAPHNODE_AWS_ENDPOINT_URL=http://127.0.0.1:4566 GRAPHNODE_REDIS_URL=redis://... \\
        celery -A benchmarks.stock_celery worker -Q stock-celery -c 1
"""

from __future__ import annotations

import json
import os
import time
from urllib.parse import urlsplit

from celery import Celery

QUEUE = "stock-celery"
#: Where each run of the task notes (sent at, ran at), read back by the benchmark.
DONE_KEY = "bench:stock-celery:done"

endpoint = urlsplit(os.environ.get("GRAPHNODE_AWS_ENDPOINT_URL", "http://127.0.0.1:4566"))
celery = Celery("stock", broker=f"sqs://testing:testing@{endpoint.hostname}:{endpoint.port}")
celery.conf.update(
    broker_transport_options={"region": "us-east-1", "is_secure": False},
    broker_connection_retry_on_startup=True,
    task_default_queue=QUEUE,
    task_acks_late=True,
    task_ignore_result=True,
)
_redis = None


@celery.task(name="noop")
def noop(sent_at: float) -> None:
    global _redis
    if _redis is None:
        import redis

        _redis = redis.Redis.from_url(os.environ["GRAPHNODE_REDIS_URL"])
    _redis.rpush(DONE_KEY, json.dumps([sent_at, time.time()]))
