"""Microscope workspaces: upload documents into a ``groupId``, read the merged entity graph."""

from __future__ import annotations

import re
import uuid
from pathlib import PurePath
from typing import Any

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from graphnode.api.auth import current_user
from graphnode.api.errors import ApiError
from graphnode.api.jobs import accept_job, job_view
from graphnode.api.limits import TOO_MANY
from graphnode.api.openapi import Operation, documented
from graphnode.api.schemas import DocumentAccepted, DocumentUpload, Workspace
from graphnode.api.services import services
from graphnode.contract.messages import DOCUMENT_EXTENSIONS, TASK_ID_PATTERN, TaskType
from graphnode.contract.workspace_graph import merge_document_graphs
from graphnode.stores import ResultKind

MAX_FILE_NAME_CHARS = 200

blueprint = Blueprint("workspaces", __name__, url_prefix="/v1/workspaces")


def _check_group(group_id: str) -> None:
    if not re.fullmatch(TASK_ID_PATTERN, group_id):
        raise ApiError(400, "invalid_group_id", "groupId: letters, digits, '-' and '_' only")


def _safe_file_name(name: str) -> str:
    """The base name only, printable; it is metadata and never part of an S3 key."""
    base = re.sub(r"[^\w .()-]", "_", PurePath(name.replace("\\", "/")).name.strip())
    suffix = PurePath(base).suffix
    if suffix.lower() not in DOCUMENT_EXTENSIONS:
        raise ApiError(415, "unsupported_document",
                       f"{base[:MAX_FILE_NAME_CHARS] or 'the file'}: supported types are "
                       f"{', '.join(sorted(DOCUMENT_EXTENSIONS))}")
    # Shorten the stem, never the extension the GPU worker picks its reader by.
    return base[:-len(suffix)][:MAX_FILE_NAME_CHARS - len(suffix)] + suffix


GROUP_ID_PARAM = {"group_id": {"type": "string", "pattern": TASK_ID_PATTERN}}


@blueprint.post("/<group_id>/documents")
@documented(Operation(
    "One document into a microscope workspace.",
    {202: ("Accepted: the document's job is PENDING", DocumentAccepted),
     400: ("No file, an empty file or a bad groupId", None),
     413: ("The body is over GRAPHNODE_MAX_UPLOAD_BYTES", None),
     415: ("Not a supported document type", None), **TOO_MANY},
    multipart=DocumentUpload, path_params=GROUP_ID_PARAM, tags=("workspaces",)))
def add_document(group_id: str) -> ResponseReturnValue:
    """One document (multipart field ``file``) into the workspace; 202 per document."""
    user_id = current_user()
    _check_group(group_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ApiError(400, "missing_file", "upload the document as multipart field 'file'")
    file_name = _safe_file_name(upload.filename)
    raw = upload.read()
    if not raw:
        raise ApiError(400, "empty_document", f"{file_name} is empty")

    # The document is known by its job's id everywhere: in the workspace and in events.
    document_id = uuid.uuid4().hex
    fields = {"groupId": group_id, "documentId": document_id, "fileName": file_name}
    body, status, headers = accept_job(user_id, TaskType.MICROSCOPE_INGEST_REQUEST, fields,
                                       raw=raw, scope=group_id, file_name=file_name,
                                       task_id=document_id)
    accepted = DocumentAccepted(**body, groupId=group_id, documentId=document_id,
                                workspaceUrl=f"/v1/workspaces/{group_id}")
    return accepted.model_dump(mode="json"), status, headers


@blueprint.get("/<group_id>")
@documented(Operation("Per-document status and the merged entity graph of a workspace.",
                      {200: ("The workspace", Workspace), 400: ("A bad groupId", None),
                       404: ("No such workspace of the caller", None)},
                      path_params=GROUP_ID_PARAM, tags=("workspaces",)))
def get_workspace(group_id: str) -> dict[str, Any]:
    """Per-document status and the entity graph merged over the completed documents."""
    user_id = current_user()
    _check_group(group_id)
    store = services().store
    jobs = store.jobs_in_scope(user_id, group_id)
    if not jobs:
        raise ApiError(404, "not_found", f"no workspace {group_id}")
    graphs = store.results_in_scope(user_id, ResultKind.DOCUMENT_GRAPH, group_id)
    return Workspace(
        groupId=group_id,
        complete=all(job.status.is_final for job in jobs),
        documents=[job_view(job) for job in jobs],
        graph=merge_document_graphs((g.taskId, g.document) for g in graphs),
    ).model_dump(mode="json")
