"""Per-process resources of the GPU worker: settings and the payload store, built once."""

from __future__ import annotations

from functools import lru_cache

from graphnode.payloads import PayloadStore
from graphnode.settings import GpuWorkerSettings


@lru_cache(maxsize=1)
def gpu_settings() -> GpuWorkerSettings:
    return GpuWorkerSettings()


@lru_cache(maxsize=1)
def payload_store() -> PayloadStore:
    return PayloadStore(gpu_settings())
