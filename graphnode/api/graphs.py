"""Graphs: generate one, add nodes to it, summarise it, read it (all scoped to the caller)."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from graphnode.api.auth import current_user
from graphnode.api.body import check_export, parse_json, read_export
from graphnode.api.errors import ApiError
from graphnode.api.jobs import accept_job
from graphnode.api.limits import TOO_MANY
from graphnode.api.openapi import Operation, documented
from graphnode.api.schemas import (
    Accepted,
    Export,
    ExportUpload,
    GenerateFromUpload,
    Graph,
    Summary,
)
from graphnode.api.services import services
from graphnode.api.uploads import uploaded_export
from graphnode.contract.messages import GraphGenerationRequest, JobStatus, TaskType
from graphnode.stores import Job, ResultKind

blueprint = Blueprint("graphs", __name__, url_prefix="/v1/graphs")

#: Request options read from the query string, a multipart form or a bundle's top level.
GENERATION_OPTIONS = ("minClusters", "maxClusters")


def _read_items() -> tuple[Any, dict[str, Any]]:
    """The items and the options, from a JSON body, a zip body or a multipart upload (field
    ``file``: JSON or an export zip)."""
    options: dict[str, Any] = dict(request.args)
    limit = services().settings.max_upload_bytes
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise ApiError(400, "missing_file", "multipart upload needs a 'file' field")
        options.update(request.form)
        items = read_export(upload.read(), limit)
    elif request.mimetype == "application/zip":
        items = read_export(request.get_data(), limit)
    elif request.is_json:
        items = parse_json(request.get_data())
    else:
        raise ApiError(415, "unsupported_media_type",
                       "send application/json, application/zip or multipart/form-data with a "
                       "'file' field")
    options = {k: _query_int(v) for k, v in options.items()}
    if isinstance(items, dict):
        options.update({k: v for k, v in items.items() if k in GENERATION_OPTIONS})
    return items, options


def _query_int(value: str) -> int | str:
    """A query-string or form value as an int when it is one ("5"); anything else is left
    for the contract to refuse with a message."""
    return int(value) if re.fullmatch(r"-?\d{1,9}", value) else value


#: What a job-accepting endpoint answers, in /openapi.json.
ACCEPTED = {202: ("Accepted: the job is PENDING", Accepted),
            400: ("Refused input or options", None),
            413: ("The body is over GRAPHNODE_MAX_UPLOAD_BYTES", None),
            415: ("Neither JSON, a zip nor multipart", None),
            **TOO_MANY}


@blueprint.post("/generate")
@documented(Operation(
    "Generate the caller's graph from an export: items in the body (JSON, an export zip "
    "as downloaded, or either as a multipart file), or the uploadKey of a presigned upload.",
    ACCEPTED, body=(Export, GenerateFromUpload), multipart=ExportUpload,
    raw_bodies=("application/zip",),
    query=(GraphGenerationRequest, GENERATION_OPTIONS), tags=("graphs",)))
def generate() -> ResponseReturnValue:
    user_id = current_user()
    items, options = _read_items()
    if isinstance(items, dict) and "uploadKey" in items:
        items = uploaded_export(user_id, items)
    check_export(items)
    fields = {k: options[k] for k in GENERATION_OPTIONS if k in options}
    return accept_job(user_id, TaskType.GRAPH_GENERATION_REQUEST, fields, document=items)


def no_graph_yet() -> ApiError:
    return ApiError(404, "not_found", "no graph yet: POST /v1/graphs/generate first")


def _current_graph_job(user_id: str) -> Job:
    """The job of the caller's current graph: COMPLETED, with the S3 keys it wrote, committed
    together with its graph (``Store.commit``). The graph itself is not read: it can be
    megabytes, and a summary or add-node request needs only its keys."""
    svc = services()
    task_id = svc.store.current_graph(user_id)
    job = svc.store.get_job(task_id) if task_id else None
    if job is None or job.status != JobStatus.COMPLETED:
        raise no_graph_yet()
    return job


@blueprint.get("/me")
@documented(Operation("The caller's current graph.",
                      {200: ("The graph", Graph), 404: ("No graph yet", None)},
                      tags=("graphs",)))
def my_graph() -> dict[str, Any]:
    job = _current_graph_job(current_user())
    stored = services().store.get_result(job.taskId, ResultKind.GRAPH)
    if stored is None:
        raise no_graph_yet()
    return {"taskId": stored.taskId, "createdAt": stored.createdAt.isoformat(), **stored.document}


@blueprint.post("/me/nodes")
@documented(Operation("Add conversations or notes to the current graph.",
                      {**ACCEPTED, 404: ("No graph yet", None)}, body=(Export,),
                      multipart=ExportUpload, raw_bodies=("application/zip",),
                      tags=("graphs",)))
def add_nodes() -> ResponseReturnValue:
    """Add conversations or notes to the current graph without rebuilding it."""
    user_id = current_user()
    graph = _current_graph_job(user_id)
    items, _ = _read_items()
    check_export(items)
    fields = {"graphKey": graph.outputKeys["graph"], "featuresKey": graph.outputKeys["features"],
              "baseGraphTaskId": graph.taskId}
    return accept_job(user_id, TaskType.ADD_NODE_REQUEST, fields, document=items)


@blueprint.post("/me/summary")
@documented(Operation("Summarise the current graph.",
                      {202: ACCEPTED[202], 404: ("No graph yet", None), **TOO_MANY},
                      tags=("graphs",)))
def request_summary() -> ResponseReturnValue:
    """Summarise the current graph; its input is the graph already in S3."""
    user_id = current_user()
    graph = _current_graph_job(user_id)
    return accept_job(user_id, TaskType.GRAPH_SUMMARY_REQUEST,
                      {"graphKey": graph.outputKeys["graph"]})


@blueprint.get("/me/summary")
@documented(Operation("The latest summary of the caller's graph.",
                      {200: ("The summary", Summary), 404: ("No summary yet", None)},
                      tags=("graphs",)))
def my_summary() -> dict[str, Any]:
    stored = services().store.latest_result(current_user(), ResultKind.SUMMARY)
    if stored is None:
        raise ApiError(404, "not_found", "no summary yet: POST /v1/graphs/me/summary first")
    return {"taskId": stored.taskId, "createdAt": stored.createdAt.isoformat(), **stored.document}
