"""Per-process resources of the GPU worker and what every request task does around its body.

Settings and the payload store are built once per worker process, and so are the models:
the embedding model (``tasks.pipeline.embedding.get_embedder``) and a local LLM
(``tasks.pipeline.llm.make_generator``); an OpenAI-compatible client is cheap to make.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from graphnode.contract.payloads import PayloadError, PayloadMissing, PayloadStore, result_key
from graphnode.runtime.middleware import JobFailed
from graphnode.settings import GpuWorkerSettings


@lru_cache(maxsize=1)
def gpu_settings() -> GpuWorkerSettings:
    return GpuWorkerSettings()


@lru_cache(maxsize=1)
def payload_store() -> PayloadStore:
    return PayloadStore(gpu_settings())


def text_generator() -> Any:
    """The configured LLM (``GRAPHNODE_LLM_KIND``: none, local or openai), or None."""
    from tasks.pipeline.llm import make_generator

    settings = gpu_settings()
    return make_generator(settings.llm_kind, settings.llm_model, settings.llm_base_url,
                          settings.llm_api_key.get_secret_value() if settings.llm_api_key
                          else None)


def embedder() -> Any:
    from tasks.pipeline.embedding import get_embedder

    settings = gpu_settings()
    return get_embedder(settings.embedding_model, settings.embedding_device,
                        settings.model_cache_dir)


@contextmanager
def bad_input_fails_the_job() -> Iterator[None]:
    """Input that cannot be read or parsed fails the job at once: a retry cannot fix it."""
    from tasks.pipeline.errors import InputError

    try:
        yield
    except (PayloadError, InputError) as exc:
        raise JobFailed(str(exc)) from exc


def read_graph(key: str) -> Any:
    """A stored graph that a request was made against. A graph replaced by a newer one is
    kept for a grace period (topology.yaml), so a request in flight still finds it; past
    that, the job fails with the reason rather than a bare missing key."""
    try:
        return payload_store().get_json(key)
    except PayloadMissing:
        raise JobFailed("the graph changed: the graph this request was made against was "
                        "replaced and has expired; send the request again") from None


def put_outputs(user_id: str, task_id: str, documents: dict[str, Any]) -> dict[str, str]:
    """Upload each output document as ``<name>.json``; the S3 keys, by name."""
    keys = {}
    for name, document in documents.items():
        keys[name] = result_key(user_id, task_id, f"{name}.json")
        payload_store().put_json(keys[name], document)
    return keys
