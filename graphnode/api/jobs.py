"""Jobs: how a request becomes a job (``accept_job``) and ``GET /v1/jobs/<taskId>``."""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from flask import Blueprint, current_app, url_for
from pydantic import ValidationError

from graphnode.api.auth import current_user
from graphnode.api.errors import ApiError
from graphnode.api.openapi import Operation, documented
from graphnode.api.schemas import Accepted, JobResult, JobView
from graphnode.api.services import Services, services
from graphnode.contract.messages import (
    PAYLOAD_MODELS,
    TASK_ID_PATTERN,
    FailureKind,
    JobStatus,
    TaskType,
)
from graphnode.contract.payloads import input_key
from graphnode.runtime import logs, metrics
from graphnode.runtime.sender import send_message
from graphnode.stores import Job, Outcome, ResultKind

logger = logging.getLogger(__name__)

blueprint = Blueprint("jobs", __name__, url_prefix="/v1/jobs")

#: Stands in for the S3 key and checksum while a request's options are validated, before
#: anything is uploaded.
PENDING_INPUT = {"inputKey": "pending", "inputSha256": "0" * 64}


def job_view(job: Job) -> dict[str, Any]:
    return JobView.model_validate(job.model_dump(include=set(JobView.model_fields))).model_dump(
        mode="json")


def validated_payload(task_type: TaskType, fields: dict[str, Any]) -> Any:
    """The request payload, or a 400 naming each bad option."""
    model = PAYLOAD_MODELS[task_type]
    with_input = "inputKey" in model.model_fields
    try:
        return model(**fields, **(PENDING_INPUT if with_input else {}))
    except ValidationError as exc:
        problems = "; ".join(
            f"{e['loc'][-1]}: {e['msg']}" if e["loc"] else e["msg"].removeprefix("Value error, ")
            for e in exc.errors()
        )
        raise ApiError(400, "invalid_options", problems) from None


def accept_job(
    user_id: str,
    task_type: TaskType,
    fields: dict[str, Any],
    *,
    document: Any = None,
    raw: bytes | None = None,
    scope: str | None = None,
    file_name: str | None = None,
    task_id: str | None = None,
) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Validate, admit under the user's limits, store the input (a JSON ``document`` or
    ``raw`` bytes) in S3, record the job PENDING, send the request; a 202 response.

    The limits are checked before anything is stored, so a refusal (429) costs no S3 write.
    If the message cannot be sent, the job is marked FAILED at once rather than left PENDING.
    """
    payload = validated_payload(task_type, {"userId": user_id, **fields})
    svc = services()
    task_id = task_id or uuid.uuid4().hex
    svc.limiter.admit(user_id, task_id)
    try:
        _store_and_send(svc, user_id, task_type, payload, task_id, document=document, raw=raw,
                        scope=scope, file_name=file_name)
    except BaseException:
        svc.limiter.release(user_id, task_id)  # nothing was sent: no job will end it
        raise
    metrics.JOBS_ACCEPTED.labels(task_type.value).inc()
    logs.bind(taskId=task_id, taskType=task_type.value, userId=user_id)
    logger.info("accepted %s %s", task_type.value, task_id)
    status_url = url_for("jobs.get_job", task_id=task_id)
    body = Accepted(taskId=task_id, status=JobStatus.PENDING, statusUrl=status_url,
                    eventsUrl=url_for("events.stream")).model_dump(mode="json")
    return body, 202, {"Location": status_url}


def _store_and_send(svc: Services, user_id: str, task_type: TaskType, payload: Any,
                    task_id: str, *, document: Any, raw: bytes | None, scope: str | None,
                    file_name: str | None) -> None:
    """What ``accept_job`` does once admitted: the input to S3, the job to the store, the
    request to the queue; a job that could not be sent ends FAILED (503)."""
    key = None
    if document is not None:
        key = input_key(user_id, task_id)
        try:
            checksum = svc.payloads.put_json(key, document)
        except UnicodeEncodeError:  # json.loads keeps a lone "\ud800"; UTF-8 cannot hold it
            raise ApiError(400, "invalid_json",
                           "the body holds a lone UTF-16 surrogate (e.g. \\ud800), which is "
                           "not text") from None
        payload = payload.model_copy(update={"inputKey": key, "inputSha256": checksum})
    elif raw is not None:
        key = input_key(user_id, task_id, "input.bin")
        payload = payload.model_copy(update={
            "inputKey": key,
            "inputSha256": svc.payloads.put_bytes(key, raw, "application/octet-stream")})
    svc.store.create_job(Job(taskId=task_id, userId=user_id, taskType=task_type, inputKey=key,
                             scope=scope, fileName=file_name))
    try:
        send_message(current_app.extensions["celery"], task_type, task_id, payload)
    except Exception as exc:
        svc.store.commit(Outcome(taskId=task_id, status=JobStatus.FAILED,
                                 failure=FailureKind.NOT_ENQUEUED,
                                 error=f"could not enqueue: {exc}"))
        raise ApiError(503, "queue_unavailable",
                       "the job queue is unavailable; retry later") from exc


def own_job(task_id: str) -> Job:
    user_id = current_user()
    # An id no job can have (too long, odd characters) is neither looked up nor echoed.
    if not re.fullmatch(TASK_ID_PATTERN, task_id):
        raise ApiError(404, "not_found", "no such job: a task id is 1-64 letters, digits, - or _")
    job = services().store.get_job(task_id)
    if job is None or job.userId != user_id:  # another user's job is as good as absent
        raise ApiError(404, "not_found", f"no job {task_id}")
    return job


#: Which stored result a job of each type leaves behind, for ``GET /v1/jobs/<id>/result``.
RESULT_OF = {
    TaskType.GRAPH_GENERATION_REQUEST: ResultKind.GRAPH,
    TaskType.GRAPH_SUMMARY_REQUEST: ResultKind.SUMMARY,
    TaskType.ADD_NODE_REQUEST: ResultKind.ADDED_NODES,
    TaskType.MICROSCOPE_INGEST_REQUEST: ResultKind.DOCUMENT_GRAPH,
}


TASK_ID_PARAM = {"task_id": {"type": "string", "pattern": TASK_ID_PATTERN}}


@blueprint.get("/<task_id>")
@documented(Operation("A job: status, stage, progress, attempts, stats, error.",
                      {200: ("The job", JobView), 404: ("No such job of the caller", None)},
                      path_params=TASK_ID_PARAM, tags=("jobs",)))
def get_job(task_id: str) -> dict[str, Any]:
    return job_view(own_job(task_id))


@blueprint.get("/<task_id>/result")
@documented(Operation("What a completed job produced.",
                      {200: ("The result", JobResult), 404: ("No such job or no result", None),
                       409: ("The job has not ended yet", None)},
                      path_params=TASK_ID_PARAM, tags=("jobs",)))
def get_job_result(task_id: str) -> dict[str, Any]:
    """What a completed job produced: a graph, a summary, node assignments, a document graph."""
    job = own_job(task_id)
    stored = services().store.get_result(task_id, RESULT_OF[job.taskType])
    if stored is None:
        raise ApiError(409 if not job.status.is_final else 404, "no_result",
                       f"job {task_id} is {job.status.value} and has no result")
    # The document as stored (validated at commit); JobResult documents its shape.
    return {"taskId": task_id, "kind": stored.kind.value, "result": stored.document}
