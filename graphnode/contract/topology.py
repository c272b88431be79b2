"""The queue and bucket topology of topology.yaml, and the command that provisions it.

Terraform reads the same YAML (``terraform/main.tf``); this module creates the same
resources through the AWS API, for the local emulator or a sandbox account.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from graphnode.aws import aws_client
from graphnode.contract.payloads import SUPERSEDED_TAG
from graphnode.settings import CommonSettings

logger = logging.getLogger(__name__)


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
class EventsSpec:
    """The SNS topic of Celery's events and the SQS queue of each reader, by name."""

    topic: str
    consumers: dict[str, int]  # queue name -> message retention (seconds)


@dataclass(frozen=True)
class UploadCorsSpec:
    """The bucket's CORS rule for the page's presigned PUT; the origins come from settings,
    since they are the deployment's (the API's address), not the system's."""

    allowed_methods: tuple[str, ...]
    allowed_headers: tuple[str, ...]
    expose_headers: tuple[str, ...]
    max_age_seconds: int

    def rule(self, origins: list[str]) -> dict[str, Any]:
        """The rule as S3's PutBucketCors takes it (terraform builds the same)."""
        return {"ID": UPLOAD_CORS_RULE_ID, "AllowedOrigins": origins,
                "AllowedMethods": list(self.allowed_methods),
                "AllowedHeaders": list(self.allowed_headers),
                "ExposeHeaders": list(self.expose_headers),
                "MaxAgeSeconds": self.max_age_seconds}


#: The ID of the CORS rule, as terraform/modules/graphnode names it too.
UPLOAD_CORS_RULE_ID = "browser-upload"


@dataclass(frozen=True)
class Topology:
    queues: dict[str, QueueSpec]
    bucket: str
    expiration_days: int
    claim_check_prefixes: tuple[str, ...]
    kept_graphs_prefix: str
    superseded_expiration_days: int
    events: EventsSpec | None = None
    upload_cors: UploadCorsSpec | None = None


SECONDS_PER_DAY = 86_400


class TopologyError(ValueError):
    """topology.yaml declares something that cannot work; the message says what to change."""


@lru_cache(maxsize=1)
def dlq_name(queue: str) -> str:
    """The DLQ beside a queue: ``<queue>-dlq``, as topology.yaml names its own."""
    return f"{queue}-dlq"


def load_topology() -> Topology:
    """The declaration, read once per process (a worker consults it on every failure)."""
    raw = yaml.safe_load(resources.files(__package__).joinpath("topology.yaml").read_text())
    return parse_topology(raw)


def parse_topology(raw: dict[str, Any]) -> Topology:
    """The decoded YAML as a ``Topology``, refused if claim checks could expire too early."""
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
    events = raw.get("events")
    cors = bucket.get("upload_cors")
    topology = Topology(queues, bucket["name"], bucket["expiration_days"],
                        tuple(bucket["claim_check_prefixes"]), bucket["kept_graphs_prefix"],
                        bucket["superseded_expiration_days"],
                        EventsSpec(events["topic"], {
                            name: spec["message_retention_seconds"]
                            for name, spec in events["consumers"].items()})
                        if events else None,
                        UploadCorsSpec(tuple(cors["allowed_methods"]),
                                       tuple(cors["allowed_headers"]),
                                       tuple(cors["expose_headers"]), cors["max_age_seconds"])
                        if cors else None)
    _check_claim_checks_outlive_messages(topology)
    return topology


def _check_claim_checks_outlive_messages(topology: Topology) -> None:
    """A message may wait its queue's retention, then its DLQ's, before a redrive sends it
    back: its claim-check object must still exist then, or the redrive finds no payload."""
    for spec in topology.queues.values():
        longest = spec.message_retention_seconds + spec.dlq_message_retention_seconds
        if topology.expiration_days * SECONDS_PER_DAY < longest:
            raise TopologyError(
                f"topology.yaml: bucket.expiration_days ({topology.expiration_days}) is shorter "
                f"than a message of {spec.name} can live ({longest / SECONDS_PER_DAY:g} days: "
                f"queue retention {spec.message_retention_seconds} s + DLQ "
                f"{spec.dlq_name} retention {spec.dlq_message_retention_seconds} s); a redrive "
                f"would find its claim-check payload expired. Raise expiration_days to at least "
                f"{math.ceil(longest / SECONDS_PER_DAY)} or shorten the retentions."
            )


#: How often a worker provisions again while its queues are missing from the emulator.
REPROVISION_SECONDS = 5.0


class EmulatorReprovisioner:
    """A worker's answer to a queue that vanished from the local emulator (restarted empty,
    it holds no queues or bucket): provision again, at most every ``REPROVISION_SECONDS``,
    so the worker takes new work without a restart. On AWS a missing queue is an
    operator's to restore (``terraform apply``); workers only log it."""

    def __init__(self, settings: CommonSettings) -> None:
        self.settings = settings
        self._last = -REPROVISION_SECONDS
        self._lock = threading.Lock()

    def __call__(self, queue: str) -> None:
        with self._lock:
            if time.monotonic() - self._last < REPROVISION_SECONDS:
                return
            self._last = time.monotonic()
        logger.warning("queue %s is missing from the emulator: provisioning again", queue)
        try:
            provision(self.settings)
        except Exception as exc:
            logger.warning("provisioning failed (%s); trying again later", exc)


def provision(settings: CommonSettings, topology: Topology | None = None,
              tls_only: bool | None = None) -> dict[str, Any]:
    """Create (or update) queues, DLQs with redrive and the bucket; safe to run twice.

    Builds what terraform/modules/graphnode builds: SSE on queues and bucket, TLS-only
    resource policies, redrive allowed only from each DLQ's own queue, the lifecycle rules,
    the CORS rule of the page's presigned upload (``settings.upload_cors_origins``).

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
        dlq = spec.dlq_name if name == declared else dlq_name(name)
        created["queues"][name] = _provision_queue(sqs, name, dlq, spec, tls_only)
    if topology.events is not None:
        created["events"] = provision_events(settings, topology.events, sqs)
    s3 = aws_client("s3", settings)
    _provision_bucket(s3, settings, tls_only)
    created["upload_cors_origins"] = _apply_upload_cors(s3, settings, topology)
    s3.put_bucket_lifecycle_configuration(
        Bucket=settings.payload_bucket,
        LifecycleConfiguration={"Rules": _lifecycle_rules(topology)},
    )
    return created


def _provision_queue(sqs: Any, name: str, dlq: str, spec: QueueSpec,
                     tls_only: bool) -> dict[str, str]:
    """One queue and its DLQ, converged on the declaration; their URLs."""
    dlq_url = sqs.create_queue(QueueName=dlq)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = dlq_arn.rsplit(":", 1)[0] + f":{name}"
    # set_queue_attributes, not create_queue's: create_queue refuses to change an
    # existing queue's attributes, and provisioning must converge on the declaration.
    # Each queue gets all of its attributes in one call (moto clears a Policy that a
    # later call leaves out).
    sqs.set_queue_attributes(
        QueueUrl=queue_url,
        Attributes={
            "VisibilityTimeout": str(spec.visibility_timeout_seconds),
            "MessageRetentionPeriod": str(spec.message_retention_seconds),
            "ReceiveMessageWaitTimeSeconds": str(spec.receive_wait_time_seconds),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": spec.max_receive_count}
            ),
            **_queue_protection(queue_arn, tls_only),
        },
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
    return {"url": queue_url, "dlq": dlq_url}


def _provision_bucket(s3: Any, settings: CommonSettings, tls_only: bool) -> None:
    """The payload bucket: private, owner-enforced, encrypted, TLS-only where TLS is spoken."""
    bucket = settings.payload_bucket
    _create_bucket(s3, settings)
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_ownership_controls(
        Bucket=bucket,
        OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
    )
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
                       "BucketKeyEnabled": False}]
        },
    )
    bucket_arn = f"arn:aws:s3:::{bucket}"
    if tls_only:
        s3.put_bucket_policy(
            Bucket=bucket, Policy=_tls_only_policy("s3:*", [bucket_arn, f"{bucket_arn}/*"])
        )
    else:
        s3.delete_bucket_policy(Bucket=bucket)


def _lifecycle_rules(topology: Topology) -> list[dict[str, Any]]:
    """Abort stale multipart uploads, expire claim checks, expire superseded graph copies."""
    return [_abort_incomplete_uploads_rule(topology)] + [
        {
            "ID": f"expire-{prefix.strip('/')}",
            "Status": "Enabled",
            "Filter": {"Prefix": prefix},
            "Expiration": {"Days": topology.expiration_days},
        }
        for prefix in topology.claim_check_prefixes
    ] + [
        {
            "ID": "expire-superseded-graphs",
            "Status": "Enabled",
            # The tag alone (terraform builds the same): only the result worker
            # sets it, and only on graph copies under kept_graphs_prefix.
            "Filter": {"Tag": SUPERSEDED_TAG},
            "Expiration": {"Days": topology.superseded_expiration_days},
        }
    ]


def _apply_upload_cors(s3: Any, settings: CommonSettings, topology: Topology) -> list[str]:
    """The CORS rule that lets a browser on the API's origins PUT to a presigned URL (the
    bucket is another origin), or none when no origin is configured; the origins allowed."""
    origins = settings.upload_cors_origin_list
    if topology.upload_cors is None or not origins:
        s3.delete_bucket_cors(Bucket=settings.payload_bucket)
        return []
    s3.put_bucket_cors(Bucket=settings.payload_bucket,
                       CORSConfiguration={"CORSRules": [topology.upload_cors.rule(origins)]})
    return origins


def provision_events(settings: CommonSettings, events: EventsSpec, sqs: Any) -> dict[str, Any]:
    """The events topic, each reader's queue (retention, a policy that lets the topic send)
    and its raw subscription; idempotent (SNS returns an existing topic or subscription)."""
    sns = aws_client("sns", settings)
    topic_arn = sns.create_topic(Name=events.topic)["TopicArn"]
    queues = {}
    for name, retention in events.consumers.items():
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        sqs.set_queue_attributes(QueueUrl=url, Attributes={
            "MessageRetentionPeriod": str(retention),
            "Policy": json.dumps({"Version": "2012-10-17", "Statement": [{
                "Sid": "events-topic-sends", "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
                "Resource": arn, "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}}}]}),
        })
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn,
                      Attributes={"RawMessageDelivery": "true"}, ReturnSubscriptionArn=True)
        queues[name] = url
    return {"topic": topic_arn, "queues": queues}


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
