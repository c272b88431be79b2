"""The message contract: every SQS message payload is a versioned envelope.

``{version, taskType, taskId, timestamp, payload}``; the payload model is chosen by
``taskType``. Large data never rides in a message: payloads carry S3 keys (claim check).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

CONTRACT_VERSION = 1

#: SQS's hard limit for one message body (raised from 256 KiB in August 2025).
SQS_MAX_MESSAGE_BYTES = 1024 * 1024
#: Our own budget for one envelope. Far below the SQS limit because Celery wraps the
#: envelope in its own message (headers, properties), and because anything this large
#: belongs in S3 anyway.
MAX_ENVELOPE_BYTES = 64 * 1024

#: What the API accepts and the GPU worker's parsers read (tasks/pipeline/sources/):
#: the top-level keys of a JSON bundle of items, and the document types of the microscope.
BUNDLE_KEYS = frozenset({"conversations", "notes", "source_nodes"})
DOCUMENT_EXTENSIONS = frozenset({".pdf", ".docx", ".pptx", ".md", ".markdown", ".txt"})

TASK_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
USER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$"


class TaskType(StrEnum):
    GRAPH_GENERATION_REQUEST = "GRAPH_GENERATION_REQUEST"
    GRAPH_GENERATION_PROGRESS = "GRAPH_GENERATION_PROGRESS"
    GRAPH_GENERATION_RESULT = "GRAPH_GENERATION_RESULT"
    GRAPH_SUMMARY_REQUEST = "GRAPH_SUMMARY_REQUEST"
    GRAPH_SUMMARY_RESULT = "GRAPH_SUMMARY_RESULT"
    ADD_NODE_REQUEST = "ADD_NODE_REQUEST"
    ADD_NODE_RESULT = "ADD_NODE_RESULT"
    MICROSCOPE_INGEST_REQUEST = "MICROSCOPE_INGEST_REQUEST"
    MICROSCOPE_INGEST_RESULT = "MICROSCOPE_INGEST_RESULT"

    @property
    def is_request(self) -> bool:
        """Requests ride graph-req to the GPU worker; everything else rides graph-res."""
        return self.value.endswith("_REQUEST")


class JobStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"

    @property
    def is_final(self) -> bool:
        return self in (JobStatus.COMPLETED, JobStatus.FAILED)


class FailureKind(StrEnum):
    """Why a job FAILED; decides whether a later delivery may still complete it
    (``graphnode.contract.lifecycle``)."""

    INPUT = "input"                           # the request cannot succeed (bad input, limits)
    GAVE_UP = "gave_up"                       # the request failed on every receive
    RESULT_NOT_STORED = "result_not_stored"   # the result exists but could not be persisted
    GRAPH_CHANGED = "graph_changed"           # add-node on a graph that was replaced meanwhile
    TIME_LIMIT = "time_limit"                 # the task ran past its soft time limit
    NOT_ENQUEUED = "not_enqueued"             # the API could not send the request
    LOST = "lost"                             # nothing ended it within the job deadline


class ContractError(ValueError):
    """A message that does not follow the contract; the text says which field and why."""


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    #: The fields that name S3 objects (claim checks): each must be the user's own.
    KEY_FIELDS: ClassVar[tuple[str, ...]] = ()

    userId: str = Field(pattern=USER_ID_PATTERN)

    def claim_checks(self) -> list[str]:
        """The S3 keys this message points at."""
        return [getattr(self, name) for name in self.KEY_FIELDS]


class _InputRef(_Payload):
    KEY_FIELDS = ("inputKey",)

    inputKey: str = Field(min_length=1, max_length=1024)
    inputSha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class GraphGenerationRequest(_InputRef):
    # strict: JSON true or 2.5 is refused, not read as 1 or 2 (the API turns query-string
    # digits into ints before validating).
    minClusters: int = Field(default=3, ge=1, le=50, strict=True)
    maxClusters: int = Field(default=8, ge=1, le=50, strict=True)

    @model_validator(mode="after")
    def _range(self) -> GraphGenerationRequest:
        if self.minClusters > self.maxClusters:
            raise ValueError("minClusters must not exceed maxClusters")
        return self


class Progress(_Payload):
    """Progress of a job of any type (the type keeps the GraphNode name it was born with)."""

    stage: str = Field(min_length=1, max_length=64)
    progress: float = Field(ge=0.0, le=1.0)
    message: str | None = Field(default=None, max_length=500)
    attempt: int = Field(default=1, ge=1, le=1000)  # the request's SQS receive count


class Result(_Payload):
    """What every result carries: the job's end, its outputs in S3 and its figures."""

    status: Literal[JobStatus.COMPLETED, JobStatus.FAILED]
    outputKeys: dict[str, str] = Field(default_factory=dict)
    stats: dict[str, int | float] = Field(default_factory=dict)
    error: str | None = Field(default=None, max_length=4000)
    failure: FailureKind | None = None

    def claim_checks(self) -> list[str]:
        return list(self.outputKeys.values())

    @model_validator(mode="after")
    def _status_fields(self) -> Result:
        if self.status == JobStatus.FAILED and not self.error:
            raise ValueError("a FAILED result needs an error")
        if self.status == JobStatus.COMPLETED and not self.outputKeys:
            raise ValueError("a COMPLETED result needs outputKeys")
        return self


class GraphGenerationResult(Result):
    """``outputKeys``: ``graph`` and ``features`` S3 keys."""


class GraphSummaryRequest(_Payload):
    KEY_FIELDS = ("graphKey",)

    graphKey: str = Field(min_length=1, max_length=1024)


class GraphSummaryResult(Result):
    """``outputKeys``: ``summary``."""


class AddNodeRequest(_InputRef):
    KEY_FIELDS = ("inputKey", "graphKey", "featuresKey")

    graphKey: str = Field(min_length=1, max_length=1024)
    featuresKey: str = Field(min_length=1, max_length=1024)
    #: The job whose graph is extended: the result is refused if the graph changed since.
    baseGraphTaskId: str = Field(pattern=TASK_ID_PATTERN)


class AddNodeResult(Result):
    """``outputKeys``: ``graph``, ``features`` and ``assignments``."""

    baseGraphTaskId: str = Field(pattern=TASK_ID_PATTERN)


class MicroscopeIngestRequest(_InputRef):
    groupId: str = Field(pattern=TASK_ID_PATTERN)
    documentId: str = Field(pattern=TASK_ID_PATTERN)
    fileName: str = Field(min_length=1, max_length=255)


class MicroscopeIngestResult(Result):
    groupId: str = Field(pattern=TASK_ID_PATTERN)
    documentId: str = Field(pattern=TASK_ID_PATTERN)


PAYLOAD_MODELS: dict[TaskType, type[_Payload]] = {
    TaskType.GRAPH_GENERATION_REQUEST: GraphGenerationRequest,
    TaskType.GRAPH_GENERATION_PROGRESS: Progress,
    TaskType.GRAPH_GENERATION_RESULT: GraphGenerationResult,
    TaskType.GRAPH_SUMMARY_REQUEST: GraphSummaryRequest,
    TaskType.GRAPH_SUMMARY_RESULT: GraphSummaryResult,
    TaskType.ADD_NODE_REQUEST: AddNodeRequest,
    TaskType.ADD_NODE_RESULT: AddNodeResult,
    TaskType.MICROSCOPE_INGEST_REQUEST: MicroscopeIngestRequest,
    TaskType.MICROSCOPE_INGEST_RESULT: MicroscopeIngestResult,
}


class Envelope(BaseModel):
    """The outer shape shared by every message; ``payload`` is validated by ``taskType``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = CONTRACT_VERSION
    taskType: TaskType
    taskId: str = Field(pattern=TASK_ID_PATTERN)
    timestamp: datetime
    payload: dict[str, Any]

    def payload_model(self) -> Any:
        return PAYLOAD_MODELS[self.taskType].model_validate(self.payload)


def make_envelope(task_type: TaskType, task_id: str, payload: _Payload) -> dict[str, Any]:
    """Build a validated envelope as plain JSON data, refusing one that is too large."""
    if not isinstance(payload, PAYLOAD_MODELS[task_type]):
        raise ContractError(f"{task_type} takes a {PAYLOAD_MODELS[task_type].__name__} payload")
    envelope = Envelope(
        taskType=task_type,
        taskId=task_id,
        timestamp=datetime.now(UTC),
        payload=payload.model_dump(mode="json"),
    ).model_dump(mode="json")
    size = len(json.dumps(envelope).encode())
    if size > MAX_ENVELOPE_BYTES:
        raise ContractError(
            f"envelope of {size} bytes exceeds {MAX_ENVELOPE_BYTES}: put the data in S3"
        )
    return envelope


def parse_envelope(data: Any, expected: TaskType | None = None) -> tuple[Envelope, Any]:
    """Validate an incoming envelope and its payload; ContractError names what is wrong."""
    size = len(json.dumps(data, separators=(",", ":"), default=str).encode())
    if size > MAX_ENVELOPE_BYTES:  # no producer of ours sends one; nothing this big is read
        raise ContractError(f"message of {size} bytes, over the {MAX_ENVELOPE_BYTES}-byte "
                            "limit of an envelope")
    try:
        envelope = Envelope.model_validate(data)
        if expected is not None and envelope.taskType != expected:
            raise ContractError(f"taskType {envelope.taskType} where {expected} was expected")
        return envelope, envelope.payload_model()
    except ValidationError as exc:
        raise ContractError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or "message"
        problems.append(f"{where}: {error['msg']}")
    return "; ".join(problems)


def json_schemas() -> dict[str, Any]:
    """JSON Schema of the envelope and of every payload, for clients in other languages."""
    schemas: dict[str, Any] = {"Envelope": Envelope.model_json_schema()}
    for task_type, model in PAYLOAD_MODELS.items():
        schemas[task_type.value] = model.model_json_schema()
    return schemas

