"""The API's bodies as pydantic models: the views build their answers with them, and
``graphnode.api.openapi`` turns the same models into ``/openapi.json``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, RootModel, model_validator

from graphnode.contract.exports import ACCEPTED_FORMATS, export_format
from graphnode.contract.graph_model import (
    Assignments,
    DocumentGraph,
    GraphDocument,
    SummaryDocument,
    WorkspaceGraph,
)
from graphnode.contract.messages import (
    BUNDLE_KEYS,
    TASK_ID_PATTERN,
    FailureKind,
    JobStatus,
    TaskType,
)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(_Body):
    code: str = Field(description="A stable, machine-readable reason, e.g. `invalid_export`.")
    message: str = Field(description="What was wrong, for a person.")


class ErrorBody(_Body):
    """Every 4xx and 5xx answer."""

    error: ErrorDetail


class Accepted(_Body):
    """A job was accepted: follow it at ``statusUrl`` or on ``eventsUrl``."""

    taskId: str = Field(pattern=TASK_ID_PATTERN)
    status: JobStatus
    statusUrl: str
    eventsUrl: str


class DocumentAccepted(Accepted):
    groupId: str = Field(pattern=TASK_ID_PATTERN)
    documentId: str = Field(pattern=TASK_ID_PATTERN)
    workspaceUrl: str


class JobView(_Body):
    taskId: str
    taskType: TaskType
    status: JobStatus
    stage: str | None
    progress: float = Field(ge=0.0, le=1.0)
    attempts: int = Field(ge=0, description="Receives of the request that started.")
    stats: dict[str, Any]
    scope: str | None = Field(description="The workspace (groupId) of a document job.")
    fileName: str | None
    error: str | None = Field(description="Why a FAILED job failed.")
    failure: FailureKind | None
    createdAt: datetime
    updatedAt: datetime


class JobResult(_Body):
    """What a completed job produced. Built from the stored document as it is: it was
    checked against its model (``graphnode.contract.graph_model``) when the result was committed."""

    taskId: str
    kind: str = Field(description="graph, summary, added-nodes or document-graph")
    result: GraphDocument | SummaryDocument | Assignments | DocumentGraph


class Graph(GraphDocument):
    """The caller's current graph: nodes, edges, subclusters, ``metadata.clusters``."""

    taskId: str
    createdAt: datetime


class Summary(SummaryDocument):
    """The latest summary: overview, cluster insights, patterns, recommendations."""

    taskId: str
    createdAt: datetime


class Workspace(_Body):
    groupId: str
    complete: bool = Field(description="Every document's job has ended.")
    documents: list[JobView]
    graph: WorkspaceGraph = Field(description="Entities and relations merged over documents.")


class UploadRequest(_Body):
    """Ask for a presigned PUT for an export too large to post through the API."""

    size: int = Field(ge=1, description="The exact size of the file in bytes.")
    contentType: str = Field(default="application/json", pattern=r"^application/(json|zip)$",
                             description="application/zip for an export zip as downloaded.")
    fileName: str | None = Field(default=None, max_length=200)


class UploadTicket(_Body):
    uploadId: str = Field(pattern=TASK_ID_PATTERN)
    uploadKey: str = Field(description="Pass it to POST /v1/graphs/generate as `uploadKey`.")
    url: str = Field(description="PUT the file here, with the headers below, before expiry.")
    method: str = "PUT"
    headers: dict[str, str]
    expiresIn: int = Field(description="Seconds the URL stays valid.")
    maxBytes: int


class Health(_Body):
    status: str


class Readiness(_Body):
    """Each part a request needs: ``ok``, or why it failed."""

    status: str
    checks: dict[str, str]
    failing: list[str] | None = None


class ExportBundle(BaseModel):
    """An object bundling items (or one ChatGPT conversation with its ``mapping``, or one
    Claude conversation with its ``chat_messages``)."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"anyOf": [
        {"required": [key]} for key in (*sorted(BUNDLE_KEYS), "mapping", "chat_messages")]})

    conversations: list[Any] | None = None
    notes: Any = None
    source_nodes: list[Any] | None = None
    mapping: dict[str, Any] | None = None


ExportList = Annotated[list[dict[str, Any] | list[Any]], Field(min_length=1)]


class Export(RootModel[ExportList | ExportBundle]):
    """What a generate or add-node request carries: a ChatGPT, Claude or Gemini export, flat
    messages, or a bundle (``graphnode.contract.exports``). A cheap structural check; the GPU
    worker's parsers report anything deeper, naming the item and field."""

    @model_validator(mode="before")
    @classmethod
    def _shape(cls, items: Any) -> Any:
        if isinstance(items, list):
            if not items:
                raise ValueError("the list of conversations is empty")
            for index, item in enumerate(items):
                if not isinstance(item, dict | list):
                    raise ValueError(f"item {index}: expected a conversation object, got "
                                     f"{type(item).__name__}")
        if export_format(items) is None:
            raise ValueError(f"unrecognised export ({_described(items)}); expected "
                             f"{ACCEPTED_FORMATS}")
        return items


def _described(items: Any) -> str:
    """What was sent instead, in words: the keys a person can look for in their file."""
    if isinstance(items, list) and items and isinstance(items[0], dict):
        return f"a list of objects with keys {', '.join(sorted(items[0])[:8]) or 'none'}"
    if isinstance(items, dict):
        return f"an object with keys {', '.join(sorted(items)[:8]) or 'none'}"
    return f"a {type(items).__name__}"


class GenerateFromUpload(_Body):
    """Generate from an export already PUT to the presigned URL of ``POST /v1/uploads``."""

    uploadKey: str = Field(min_length=1, max_length=1024)
    minClusters: int | None = Field(default=None, strict=True, ge=1, le=50)
    maxClusters: int | None = Field(default=None, strict=True, ge=1, le=50)


class ExportUpload(_Body):
    """The multipart form of generate and add-node."""

    file: bytes = Field(description="The export: the zip as downloaded, or its JSON file.")
    minClusters: int | None = Field(default=None, ge=1, le=50)
    maxClusters: int | None = Field(default=None, ge=1, le=50)


class DocumentUpload(_Body):
    """The multipart form of a workspace document."""

    file: bytes = Field(description="PDF, DOCX, PPTX, Markdown or text, with its file name.")


class EventsQuery(_Body):
    """What ``GET /v1/events`` reads from its query string."""

    access_token: str | None = Field(default=None, description="The bearer token, for "
                                     "EventSource, which cannot send headers.")
    lastEventId: str | None = Field(default=None, pattern=r"^\d{1,20}-\d{1,20}$",
                                    description="Replay what came after this event id.")
