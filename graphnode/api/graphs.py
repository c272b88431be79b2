"""Graphs: generate one, add nodes to it, summarise it, read it (all scoped to the caller)."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from graphnode.api import services
from graphnode.api.auth import current_user
from graphnode.api.errors import ApiError
from graphnode.api.jobs import accept_job
from graphnode.contract import BUNDLE_KEYS, TaskType
from graphnode.stores import ResultKind, StoredResult

blueprint = Blueprint("graphs", __name__, url_prefix="/v1/graphs")

#: Request options read from the query string, a multipart form or a bundle's top level.
GENERATION_OPTIONS = ("minClusters", "maxClusters")


def _read_items() -> tuple[Any, dict[str, Any]]:
    """The items and the options, from a JSON body or a multipart upload (field ``file``)."""
    options: dict[str, Any] = dict(request.args)
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise ApiError(400, "missing_file", "multipart upload needs a 'file' field")
        options.update(request.form)
        raw = upload.read()
    elif request.is_json:
        raw = request.get_data()
    else:
        raise ApiError(415, "unsupported_media_type",
                       "send application/json or multipart/form-data with a 'file' field")
    options = {k: _query_int(v) for k, v in options.items()}
    try:
        items = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {exc}") from None
    except RecursionError:
        raise ApiError(400, "invalid_json", "the body is nested too deeply") from None
    if isinstance(items, dict):
        options.update({k: v for k, v in items.items() if k in GENERATION_OPTIONS})
    _check_items(items)
    return items, options


def _query_int(value: str) -> int | str:
    """A query-string or form value as an int when it is one ("5"); anything else is left
    for the contract to refuse with a message."""
    return int(value) if re.fullmatch(r"-?\d{1,9}", value) else value


def _check_items(items: Any) -> None:
    """A cheap structural check; the GPU worker's parsers report anything deeper."""
    if isinstance(items, list):
        if not items:
            raise ApiError(400, "invalid_export", "the list of conversations is empty")
        for index, item in enumerate(items):
            if not isinstance(item, dict | list):
                raise ApiError(400, "invalid_export",
                               f"item {index}: expected a conversation object, got "
                               f"{type(item).__name__}")
        return
    if isinstance(items, dict) and (BUNDLE_KEYS & items.keys() or "mapping" in items):
        return
    raise ApiError(400, "invalid_export",
                   "expected a ChatGPT export (a list of conversations), a message list, or "
                   f"an object with one of {', '.join(sorted(BUNDLE_KEYS))}")


@blueprint.post("/generate")
def generate() -> ResponseReturnValue:
    user_id = current_user()
    items, options = _read_items()
    fields = {k: options[k] for k in GENERATION_OPTIONS if k in options}
    return accept_job(user_id, TaskType.GRAPH_GENERATION_REQUEST, fields, document=items)


def _current_graph(user_id: str) -> tuple[StoredResult, dict[str, str]]:
    """The caller's current graph and the S3 keys its job wrote: the graph of a COMPLETED
    job, committed together with its outputs (``Store.commit``)."""
    svc = services()
    task_id = svc.store.current_graph(user_id)
    stored = svc.store.get_result(task_id, ResultKind.GRAPH) if task_id else None
    job = svc.store.get_job(task_id) if task_id else None
    if stored is None or job is None:
        raise ApiError(404, "not_found", "no graph yet: POST /v1/graphs/generate first")
    return stored, job.outputKeys


@blueprint.get("/me")
def my_graph() -> dict[str, Any]:
    stored, _ = _current_graph(current_user())
    return {"taskId": stored.taskId, "createdAt": stored.createdAt.isoformat(), **stored.document}


@blueprint.post("/me/nodes")
def add_nodes() -> ResponseReturnValue:
    """Add conversations or notes to the current graph without rebuilding it."""
    user_id = current_user()
    graph, keys = _current_graph(user_id)
    items, _ = _read_items()
    fields = {"graphKey": keys["graph"], "featuresKey": keys["features"],
              "baseGraphTaskId": graph.taskId}
    return accept_job(user_id, TaskType.ADD_NODE_REQUEST, fields, document=items)


@blueprint.post("/me/summary")
def request_summary() -> ResponseReturnValue:
    """Summarise the current graph; its input is the graph already in S3."""
    user_id = current_user()
    _, keys = _current_graph(user_id)
    return accept_job(user_id, TaskType.GRAPH_SUMMARY_REQUEST, {"graphKey": keys["graph"]})


@blueprint.get("/me/summary")
def my_summary() -> dict[str, Any]:
    stored = services().store.latest_result(current_user(), ResultKind.SUMMARY)
    if stored is None:
        raise ApiError(404, "not_found", "no summary yet: POST /v1/graphs/me/summary first")
    return {"taskId": stored.taskId, "createdAt": stored.createdAt.isoformat(), **stored.document}
