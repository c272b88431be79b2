"""Graphs: generate one, add nodes to it, summarise it, read it (all scoped to the caller)."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, request
from flask.typing import ResponseReturnValue
from pydantic import ValidationError

from graphnode.api import services
from graphnode.api.auth import current_user
from graphnode.api.errors import ApiError
from graphnode.api.jobs import accept_job
from graphnode.contract import (
    AddNodeRequest,
    GraphGenerationRequest,
    GraphSummaryRequest,
    TaskType,
)
from graphnode.stores import ResultKind, StoredResult

blueprint = Blueprint("graphs", __name__, url_prefix="/v1/graphs")

#: Top-level keys of a JSON bundle that hold items (see tasks/pipeline/sources.py).
BUNDLE_KEYS = ("conversations", "source_nodes", "notes", "messages")


def _read_bundle() -> tuple[Any, dict[str, Any]]:
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
    try:
        bundle = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {exc}") from None
    if isinstance(bundle, dict):
        options.update({k: v for k, v in bundle.items() if k not in BUNDLE_KEYS})
    _check_bundle(bundle)
    return bundle, options


def _check_bundle(bundle: Any) -> None:
    """A cheap structural check; the GPU worker's parsers report anything deeper."""
    if isinstance(bundle, list):
        if not bundle:
            raise ApiError(400, "invalid_export", "the list of conversations is empty")
        for index, item in enumerate(bundle):
            if not isinstance(item, dict | list):
                raise ApiError(400, "invalid_export",
                               f"item {index}: expected a conversation object, got "
                               f"{type(item).__name__}")
        return
    if isinstance(bundle, dict) and any(bundle.get(key) for key in BUNDLE_KEYS):
        return
    raise ApiError(400, "invalid_export",
                   "expected a ChatGPT export (a list of conversations), a message list, or "
                   f"an object with one of {', '.join(BUNDLE_KEYS)}")


def _validated(model: type, **fields: Any) -> Any:
    """Validate request options now, so a bad one is a 400 before anything is stored."""
    try:
        return model(**fields)
    except ValidationError as exc:
        problems = "; ".join(
            f"{e['loc'][-1]}: {e['msg']}" if e["loc"] else e["msg"].removeprefix("Value error, ")
            for e in exc.errors()
        )
        raise ApiError(400, "invalid_options", problems) from None


def _with_input(checked: Any) -> Any:
    return lambda key, digest: checked.model_copy(update={"inputKey": key, "inputSha256": digest})


PENDING_INPUT = {"inputKey": "pending", "inputSha256": "0" * 64}


@blueprint.post("/generate")
def generate() -> ResponseReturnValue:
    user_id = current_user()
    bundle, options = _read_bundle()
    fields = {k: options[k] for k in ("minClusters", "maxClusters") if k in options}
    checked = _validated(GraphGenerationRequest, userId=user_id, **PENDING_INPUT, **fields)
    return accept_job(user_id, TaskType.GRAPH_GENERATION_REQUEST, _with_input(checked),
                      document=bundle)


def _current_graph(user_id: str) -> tuple[StoredResult, dict[str, str]]:
    """The caller's latest graph and the S3 keys its job wrote."""
    svc = services()
    stored = svc.store.latest_result(user_id, ResultKind.GRAPH)
    job = svc.store.get_job(stored.taskId) if stored else None
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
    _, keys = _current_graph(user_id)
    bundle, _ = _read_bundle()
    checked = _validated(AddNodeRequest, userId=user_id, graphKey=keys["graph"],
                         featuresKey=keys["features"], **PENDING_INPUT)
    return accept_job(user_id, TaskType.ADD_NODE_REQUEST, _with_input(checked), document=bundle)


@blueprint.post("/me/summary")
def request_summary() -> ResponseReturnValue:
    user_id = current_user()
    _, keys = _current_graph(user_id)
    checked = _validated(GraphSummaryRequest, userId=user_id, graphKey=keys["graph"])
    # The summary's input is the graph already in S3: nothing new to upload.
    return accept_job(user_id, TaskType.GRAPH_SUMMARY_REQUEST, lambda key, digest: checked)


@blueprint.get("/me/summary")
def my_summary() -> dict[str, Any]:
    stored = services().store.latest_result(current_user(), ResultKind.SUMMARY)
    if stored is None:
        raise ApiError(404, "not_found", "no summary yet: POST /v1/graphs/me/summary first")
    return {"taskId": stored.taskId, "createdAt": stored.createdAt.isoformat(), **stored.document}
