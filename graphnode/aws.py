"""boto3 clients built from settings: every client takes the configured endpoint and region."""

from __future__ import annotations

from typing import Any

from graphnode.settings import CommonSettings


def aws_client(service: str, settings: CommonSettings) -> Any:
    import boto3  # imported here so that importing graphnode stays cheap

    return boto3.client(
        service, region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url
    )
