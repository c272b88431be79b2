"""boto3 clients built from settings: every client takes the configured endpoint and region."""

from __future__ import annotations

from typing import Any

from graphnode.settings import CommonSettings


def aws_client(service: str, settings: CommonSettings, *, timeout: float | None = None) -> Any:
    """A client of ``service``. With ``timeout``, each call gives up after that many seconds
    of connecting or reading, without retries: for calls that a probe or a shutdown waits on,
    where botocore's defaults (60 s timeouts, five tries with back-off) would hang it."""
    import boto3  # imported here so that importing graphnode stays cheap

    config = None
    if timeout is not None:
        from botocore.config import Config

        config = Config(connect_timeout=timeout, read_timeout=timeout,
                        retries={"total_max_attempts": 1})  # max_attempts counts retries
    return boto3.client(
        service, region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url,
        config=config,
    )
