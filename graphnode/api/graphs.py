"""Graphs: ``POST /v1/graphs/generate`` (202) and ``GET /v1/graphs/me``."""

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
from graphnode.contract import GraphGenerationRequest, TaskType

blueprint = Blueprint("graphs", __name__, url_prefix="/v1/graphs")


def _read_export() -> tuple[Any, dict[str, Any]]:
    """The export and the options, from a JSON body or a multipart upload (field ``file``)."""
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
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, "invalid_json", f"the export is not valid JSON: {exc}") from None
    if isinstance(body, dict) and "conversations" in body:
        options.update({k: v for k, v in body.items() if k != "conversations"})
        body = body["conversations"]
    return body, options


def _check_export(export: Any) -> None:
    """A cheap structural check; the GPU worker's parser reports anything deeper."""
    if not isinstance(export, list) or not export:
        raise ApiError(400, "invalid_export",
                       "the export must be a non-empty list of conversations")
    for index, conversation in enumerate(export):
        if not isinstance(conversation, dict) or not isinstance(conversation.get("mapping"), dict):
            raise ApiError(400, "invalid_export",
                           f"conversation {index}: expected an object with a 'mapping' object")


@blueprint.post("/generate")
def generate() -> ResponseReturnValue:
    user_id = current_user()
    export, options = _read_export()
    _check_export(export)
    try:
        make = _options_model(user_id, options)
    except ValidationError as exc:
        problems = "; ".join(
            f"{e['loc'][-1]}: {e['msg']}" if e["loc"] else e["msg"].removeprefix("Value error, ")
            for e in exc.errors()
        )
        raise ApiError(400, "invalid_options", problems) from None
    return accept_job(user_id, TaskType.GRAPH_GENERATION_REQUEST, export, make)


def _options_model(user_id: str, options: dict[str, Any]) -> Any:
    """Validate the options now, so a bad one is a 400 before anything is stored."""
    fields = {k: options[k] for k in ("minClusters", "maxClusters") if k in options}
    checked = GraphGenerationRequest(
        userId=user_id, inputKey="pending", inputSha256="0" * 64, **fields
    )
    return lambda key, digest: checked.model_copy(update={"inputKey": key, "inputSha256": digest})


@blueprint.get("/me")
def my_graph() -> dict[str, Any]:
    user_id = current_user()
    stored = services().store.latest_graph(user_id)
    if stored is None:
        raise ApiError(404, "not_found", "no graph yet: POST /v1/graphs/generate first")
    return {"taskId": stored.taskId, "createdAt": stored.createdAt.isoformat(), **stored.graph}
