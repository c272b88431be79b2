"""``/openapi.json`` (OpenAPI 3.1), built from the app's routes and the pydantic models the
views validate with and answer with; nothing here is a hand-written schema.

A view declares what it takes and answers with ``@documented(...)``; ``build_spec`` walks
Flask's URL map, so a route without a declaration is missing from nothing: it fails
``tests/unit/test_openapi.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Blueprint, Flask, current_app
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from graphnode.api.schemas import ErrorBody

F = TypeVar("F", bound=Callable[..., Any])
REF = "#/components/schemas/{model}"

#: Reasons every authenticated operation may be refused, besides its own.
COMMON_ERRORS = {
    401: "Missing, malformed, expired or wrongly signed bearer token.",
    503: "A backing service (store, queue, event stream) is unavailable; retry later.",
}

#: Headers an error answer carries, by status: a refusal says when to come back.
ERROR_HEADERS = {429: {"Retry-After": {
    "description": "Seconds to wait before submitting again.",
    "schema": {"type": "integer", "minimum": 1}}}}


@dataclass
class Operation:
    summary: str
    responses: dict[int, tuple[str, type[BaseModel] | str | None]]
    #: JSON bodies the view validates with these models (any one of them).
    body: tuple[type[BaseModel], ...] = ()
    #: A multipart form the view reads; ``bytes`` fields are files.
    multipart: type[BaseModel] | None = None
    #: Media types the view also reads as a raw file body (an export zip).
    raw_bodies: tuple[str, ...] = ()
    #: (model, field names): query parameters whose schema is those fields of the model.
    query: tuple[type[BaseModel], tuple[str, ...]] | None = None
    path_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    secured: bool = True
    tags: tuple[str, ...] = ()


def documented(operation: Operation) -> Callable[[F], F]:
    def mark(view: F) -> F:
        view.__openapi__ = operation  # type: ignore[attr-defined]
        return view
    return mark


def _models(app: Flask) -> list[type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {"ErrorBody": ErrorBody}
    for view in app.view_functions.values():
        op: Operation | None = getattr(view, "__openapi__", None)
        if op is None:
            continue
        candidates = [*op.body, op.multipart, *(m for _, m in op.responses.values())]
        if op.query:
            candidates.append(op.query[0])
        for model in candidates:
            if isinstance(model, type) and issubclass(model, BaseModel):
                found[model.__name__] = model
    return list(found.values())


def _path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _ref(model: type[BaseModel]) -> dict[str, Any]:
    return {"$ref": REF.format(model=model.__name__)}


def _operation(op: Operation, path_args: list[str]) -> dict[str, Any]:
    doc: dict[str, Any] = {"summary": op.summary, "operationId": None, "tags": list(op.tags)}
    params = [
        {"name": name, "in": "path", "required": True,
         "schema": op.path_params.get(name, {"type": "string"})}
        for name in path_args
    ]
    if op.query:
        model, names = op.query
        properties = model.model_json_schema(ref_template=REF)["properties"]
        params += [{"name": name, "in": "query", "required": False,
                    "schema": properties[name]} for name in names]
    if params:
        doc["parameters"] = params
    content: dict[str, Any] = {}
    if op.body:
        refs = [_ref(model) for model in op.body]
        content.update(_json(refs[0] if len(refs) == 1 else {"anyOf": refs}))
    if op.multipart is not None:
        content["multipart/form-data"] = {"schema": _ref(op.multipart)}
    for media_type in op.raw_bodies:
        content[media_type] = {"schema": {"type": "string", "contentMediaType": media_type}}
    if content:
        doc["requestBody"] = {"required": True, "content": content}
    responses: dict[str, Any] = {}
    errors = {**(COMMON_ERRORS if op.secured else {}),
              **{s: d for s, (d, m) in op.responses.items() if s >= 400}}
    for status, (description, model) in sorted(op.responses.items()):
        if status >= 400:
            continue
        answer: dict[str, Any] = {"description": description}
        if isinstance(model, type):
            answer["content"] = _json(_ref(model))
        elif isinstance(model, str):
            answer["content"] = {model: {"schema": {"type": "string"}}}
        responses[str(status)] = answer
    for status, description in sorted(errors.items()):
        responses[str(status)] = {"description": description, "content": _json(_ref(ErrorBody)),
                                  **({"headers": ERROR_HEADERS[status]}
                                     if status in ERROR_HEADERS else {})}
    # Anything else (a 405, a 413 from the server) still carries the error body.
    responses["default"] = {"description": "Any other error.", "content": _json(_ref(ErrorBody))}
    doc["responses"] = responses
    doc["security"] = [{"bearerAuth": []}] if op.secured else []
    return doc


def build_spec(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``app``: one operation per documented route and method."""
    _, definitions = models_json_schema(
        [(model, "serialization") for model in _models(app)], ref_template=REF)
    components: dict[str, Any] = {
        "schemas": definitions.get("$defs", {}),
        "securitySchemes": {"bearerAuth": {
            "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
            "description": "HS256 JWT whose `sub` is the user id (`graphnode token USER`). "
                           "`GET /v1/events` also takes it as `?access_token=`.",
        }},
    }
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        op = getattr(app.view_functions[rule.endpoint], "__openapi__", None)
        if op is None:
            continue
        path_args = re.findall(r"<(?:[^:<>]+:)?([^<>]+)>", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            operation = _operation(op, path_args)
            operation["operationId"] = f"{rule.endpoint.replace('.', '_')}_{method.lower()}"
            paths.setdefault(_path(rule.rule), {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "GraphNode API",
            "version": "1",
            "description": "AI-chat history to a knowledge graph, asynchronously: submit, "
                           "follow the job over Server-Sent Events, read the graph.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": components,
    }


blueprint = Blueprint("openapi", __name__)


@blueprint.get("/openapi.json")
@documented(Operation("This document.", {200: ("The OpenAPI 3.1 document", None)},
                      secured=False, tags=("meta",)))
def openapi_json() -> dict[str, Any]:
    spec = current_app.extensions.get("graphnode.openapi")
    if spec is None:
        spec = current_app.extensions["graphnode.openapi"] = build_spec(current_app)
    return spec


@blueprint.get("/docs")
@documented(Operation("The API reference page (renders /openapi.json, offline).",
                      {200: ("An HTML page", "text/html")}, secured=False, tags=("meta",)))
def docs_page() -> Any:
    return current_app.send_static_file("docs.html")
