"""The queue and bucket topology of topology.yaml, and the command that provisions it.

Terraform reads the same YAML (``terraform/main.tf``); this module creates the same
resources through the AWS API, for the local emulator or a sandbox account.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from graphnode.aws import aws_client
from graphnode.settings import CommonSettings


@dataclass(frozen=True)
class QueueSpec:
    name: str
    visibility_timeout_seconds: int
    message_retention_seconds: int
    receive_wait_time_seconds: int
    dlq_name: str
    max_receive_count: int
    dlq_message_retention_seconds: int


@dataclass(frozen=True)
class Topology:
    queues: dict[str, QueueSpec]
    bucket: str
    expiration_days: int
    claim_check_prefixes: tuple[str, ...]


@lru_cache(maxsize=1)
def load_topology() -> Topology:
    """The declaration, read once per process (a worker consults it on every failure)."""
    raw = yaml.safe_load(resources.files("graphnode").joinpath("topology.yaml").read_text())
    queues = {
        name: QueueSpec(
            name=name,
            visibility_timeout_seconds=spec["visibility_timeout_seconds"],
            message_retention_seconds=spec["message_retention_seconds"],
            receive_wait_time_seconds=spec["receive_wait_time_seconds"],
            dlq_name=spec["dlq"]["name"],
            max_receive_count=spec["dlq"]["max_receive_count"],
            dlq_message_retention_seconds=spec["dlq"]["message_retention_seconds"],
        )
        for name, spec in raw["queues"].items()
    }
    bucket = raw["bucket"]
    return Topology(queues, bucket["name"], bucket["expiration_days"],
                    tuple(bucket["claim_check_prefixes"]))


def provision(settings: CommonSettings, topology: Topology | None = None,
              tls_only: bool | None = None) -> dict[str, Any]:
    """Create (or update) queues, DLQs with redrive and the bucket; safe to run twice.

    Builds what terraform/modules/graphnode builds: SSE on queues and bucket, TLS-only
    resource policies, redrive allowed only from each DLQ's own queue, the lifecycle rules.

    Queue names in settings replace the declared ones, so a test stack can use its own
    names; the bucket is ``settings.payload_bucket`` for the same reason.

    ``tls_only`` (default: unless the endpoint is a plain-HTTP emulator, which speaks no TLS
    and, like moto, may enforce bucket policies) adds the policies that deny plain HTTP.
    """
    topology = topology or load_topology()
    if tls_only is None:
        tls_only = not (settings.aws_endpoint_url or "").startswith("http://")
    sqs = aws_client("sqs", settings)
    created: dict[str, Any] = {"queues": {}, "bucket": settings.payload_bucket}
    renamed = {"graph-req": settings.request_queue, "graph-res": settings.result_queue}
    for declared, spec in topology.queues.items():
        name = renamed.get(declared, declared)
        dlq_name = spec.dlq_name if name == declared else f"{name}-dlq"
        dlq_url = sqs.create_queue(QueueName=dlq_name)["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        attributes = {
            "VisibilityTimeout": str(spec.visibility_timeout_seconds),
            "MessageRetentionPeriod": str(spec.message_retention_seconds),
            "ReceiveMessageWaitTimeSeconds": str(spec.receive_wait_time_seconds),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": spec.max_receive_count}
            ),
        }
        queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
        queue_arn = dlq_arn.rsplit(":", 1)[0] + f":{name}"
        # set_queue_attributes, not create_queue's: create_queue refuses to change an
        # existing queue's attributes, and provisioning must converge on the declaration.
        # Each queue gets all of its attributes in one call (moto clears a Policy that a
        # later call leaves out).
        sqs.set_queue_attributes(
            QueueUrl=queue_url,
            Attributes={**attributes, **_queue_protection(queue_arn, tls_only)},
        )
        sqs.set_queue_attributes(
            QueueUrl=dlq_url,
            Attributes={
                "MessageRetentionPeriod": str(spec.dlq_message_retention_seconds),
                # Only its own source queue may dead-letter into (and redrive out of) a DLQ.
                "RedriveAllowPolicy": json.dumps(
                    {"redrivePermission": "byQueue", "sourceQueueArns": [queue_arn]}
                ),
                **_queue_protection(dlq_arn, tls_only),
            },
        )
        created["queues"][name] = {"url": queue_url, "dlq": dlq_url}

    s3 = aws_client("s3", settings)
    _create_bucket(s3, settings)
    s3.put_public_access_block(
        Bucket=settings.payload_bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_ownership_controls(
        Bucket=settings.payload_bucket,
        OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
    )
    s3.put_bucket_encryption(
        Bucket=settings.payload_bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
                       "BucketKeyEnabled": False}]
        },
    )
    bucket_arn = f"arn:aws:s3:::{settings.payload_bucket}"
    if tls_only:
        s3.put_bucket_policy(
            Bucket=settings.payload_bucket,
            Policy=_tls_only_policy("s3:*", [bucket_arn, f"{bucket_arn}/*"]),
        )
    else:
        s3.delete_bucket_policy(Bucket=settings.payload_bucket)
    s3.put_bucket_lifecycle_configuration(
        Bucket=settings.payload_bucket,
        LifecycleConfiguration={
            "Rules": [_abort_incomplete_uploads_rule(topology)] + [
                {
                    "ID": f"expire-{prefix.strip('/')}",
                    "Status": "Enabled",
                    "Filter": {"Prefix": prefix},
                    "Expiration": {"Days": topology.expiration_days},
                }
                for prefix in topology.claim_check_prefixes
            ]
        },
    )
    return created


def _queue_protection(queue_arn: str, tls_only: bool) -> dict[str, str]:
    """Encryption at rest (SSE-SQS) and TLS only: terraform builds every queue the same."""
    return {"SqsManagedSseEnabled": "true",
            "Policy": _tls_only_policy("sqs:*", [queue_arn]) if tls_only else ""}


def _tls_only_policy(actions: str, resources: list[str]) -> str:
    """A resource policy that denies any request made over plain HTTP, whoever sends it."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": actions,
            "Resource": resources[0] if len(resources) == 1 else resources,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }],
    })


def _abort_incomplete_uploads_rule(topology: Topology) -> dict[str, Any]:
    """Parts of a multipart upload that never completed are invisible but billed."""
    return {
        "ID": "abort-incomplete-multipart-uploads",
        "Status": "Enabled",
        "Filter": {"Prefix": ""},  # the whole bucket, as terraform's empty filter sends it
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": topology.expiration_days},
    }


def _create_bucket(s3: Any, settings: CommonSettings) -> None:
    kwargs: dict[str, Any] = {"Bucket": settings.payload_bucket}
    if settings.aws_region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": settings.aws_region}
    try:
        s3.create_bucket(**kwargs)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
