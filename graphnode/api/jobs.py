"""Jobs: how a request becomes a job (``accept_job``) and ``GET /v1/jobs/<taskId>``."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from flask import Blueprint, url_for

from graphnode.api import services
from graphnode.api.auth import current_user
from graphnode.api.errors import ApiError
from graphnode.celery_app import celery_app
from graphnode.contract import JobStatus, TaskType
from graphnode.middleware import send_message
from graphnode.payloads import input_key
from graphnode.stores import Job

blueprint = Blueprint("jobs", __name__, url_prefix="/v1/jobs")


def job_view(job: Job) -> dict[str, Any]:
    return {
        "taskId": job.taskId,
        "taskType": job.taskType.value,
        "status": job.status.value,
        "stage": job.stage,
        "progress": job.progress,
        "stats": job.stats,
        "error": job.error,
        "createdAt": job.createdAt.isoformat(),
        "updatedAt": job.updatedAt.isoformat(),
    }


def accept_job(
    user_id: str, task_type: TaskType, document: Any, make_payload: Callable[[str, str], Any]
) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Store the input in S3, record the job PENDING, send the request; a 202 response.

    ``make_payload(input_key, sha256)`` builds the request payload. If the message cannot be
    sent, the job is marked FAILED at once rather than left PENDING forever.
    """
    svc = services()
    task_id = uuid.uuid4().hex
    key = input_key(user_id, task_id)
    digest = svc.payloads.put_json(key, document)
    payload = make_payload(key, digest)
    svc.store.create_job(Job(taskId=task_id, userId=user_id, taskType=task_type, inputKey=key))
    try:
        send_message(celery_app, task_type, task_id, payload)
    except Exception as exc:
        svc.store.finish_job(task_id, JobStatus.FAILED, error=f"could not enqueue: {exc}")
        raise ApiError(503, "queue_unavailable",
                       "the job queue is unavailable; retry later") from exc
    status_url = url_for("jobs.get_job", task_id=task_id)
    body = {
        "taskId": task_id,
        "status": JobStatus.PENDING.value,
        "statusUrl": status_url,
        "eventsUrl": url_for("events.stream"),
    }
    return body, 202, {"Location": status_url}


@blueprint.get("/<task_id>")
def get_job(task_id: str) -> dict[str, Any]:
    user_id = current_user()
    job = services().store.get_job(task_id)
    if job is None or job.userId != user_id:  # another user's job is as good as absent
        raise ApiError(404, "not_found", f"no job {task_id}")
    return job_view(job)
