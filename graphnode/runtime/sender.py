"""How any role sends a contract message: as a Celery task named by its type, routed by
Celery's task routes (graph-req or graph-res), with an id that names its job.

The API sends requests with it and needs nothing else of the worker side.
"""

from __future__ import annotations

import uuid
from typing import Any

from celery import Celery

from graphnode.contract.messages import TaskType, make_envelope


def celery_task_id(task_type: TaskType, task_id: str) -> str:
    """The Celery id of a contract message, so Flower, logs and the API name one job alike:
    a request is its job's ``taskId``; its result ``<taskId>-result``; each progress report
    ``<taskId>-progress-<n>`` (many per job; Flower keeps one entry per Celery id)."""
    if task_type.is_request:
        return task_id
    if task_type == TaskType.GRAPH_GENERATION_PROGRESS:
        return f"{task_id}-progress-{uuid.uuid4().hex[:12]}"
    return f"{task_id}-result"


def send_message(app: Celery, task_type: TaskType, task_id: str, payload: Any) -> None:
    """Send one contract message; the route (graph-req or graph-res) follows the task type."""
    app.send_task(task_type.value, args=[make_envelope(task_type, task_id, payload)],
                  task_id=celery_task_id(task_type, task_id),
                  # What Celery's logs, events and Flower show as the arguments: the job,
                  # never its payload.
                  argsrepr=repr({"taskId": task_id}), kwargsrepr="{}")
