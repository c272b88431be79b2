"""`graphnode provision` and terraform build the same queues, DLQs and bucket settings.

Both run against one AWS emulator: terraform applies examples/local with the "tf-" prefix,
provision builds the "py-" copy, and every setting that matters is read back and compared:
queue timeouts and retention, SSE, the TLS-only policies, redrive and redrive-allow, the
bucket's encryption, ownership, public access block, lifecycle and the CORS rule of the
page's presigned upload. (About 90 s: the AWS provider waits for each SQS attribute change
to settle, three in a row per queue.)
"""

from __future__ import annotations

import json
import re
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from graphnode.contract.topology import load_topology, provision
from graphnode.settings import CommonSettings
from tests.support.deploy import emulator, terraform, terraform_env, terraform_unavailable

pytestmark = pytest.mark.integration

QUEUE_ATTRIBUTES = ("VisibilityTimeout", "MessageRetentionPeriod",
                    "ReceiveMessageWaitTimeSeconds", "SqsManagedSseEnabled", "Policy",
                    "RedrivePolicy", "RedriveAllowPolicy")
PREFIX = re.compile(r"(?<=[:/])(tf|py)-")
#: The page's origins, given to both: terraform's variable and provision's setting.
UPLOAD_ORIGINS = ["https://graphnode.example.com", "http://127.0.0.1:8000"]


def canonical(value: Any) -> Any:
    """JSON documents parsed, one-element lists and numbers-as-text made alike, prefixes
    dropped from names and ARNs, so that equal settings compare equal."""
    if isinstance(value, str):
        stripped = PREFIX.sub("", value)
        if stripped.startswith(("{", "[")):
            return canonical(json.loads(stripped))
        return int(stripped) if stripped.isdigit() else stripped
    if isinstance(value, dict):
        return {key: canonical(item) for key, item in value.items()}
    if isinstance(value, list):
        items = [canonical(item) for item in value]
        items = sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
        return items[0] if len(items) == 1 else items
    return value


def queue_settings(sqs, name: str) -> dict[str, Any]:
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return {key: canonical(attributes.get(key)) for key in QUEUE_ATTRIBUTES}


def bucket_settings(s3, bucket: str) -> dict[str, Any]:
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    return canonical({
        "encryption": s3.get_bucket_encryption(Bucket=bucket)[
            "ServerSideEncryptionConfiguration"],
        "ownership": s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"],
        "public_access": s3.get_public_access_block(Bucket=bucket)[
            "PublicAccessBlockConfiguration"],
        "policy": s3.get_bucket_policy(Bucket=bucket)["Policy"],
        "cors": s3.get_bucket_cors(Bucket=bucket)["CORSRules"],
        "lifecycle": {rule["ID"]: {key: value for key, value in rule.items() if key != "ID"}
                      for rule in rules},
    })


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    reason = terraform_unavailable()
    if reason:
        pytest.skip(f"terraform checks skipped: {reason}")
    workdir = tmp_path_factory.mktemp("terraform-apply")
    env = terraform_env(workdir)
    with emulator(workdir) as endpoint:
        terraform("local", "init", "-backend=false", "-lockfile=readonly",
                  env=env, data_dir=workdir)
        terraform("local", "apply", "-auto-approve", "-lock=false",
                  f"-state={workdir / 'terraform.tfstate'}", f"-var=endpoint={endpoint}",
                  "-var=name_prefix=tf-", "-var=queue_name_prefix=tf-", "-var=tls_only=true",
                  f"-var=upload_cors_origins={json.dumps(UPLOAD_ORIGINS)}",
                  env=env, data_dir=workdir, timeout=400)
        settings = CommonSettings(aws_endpoint_url=endpoint, request_queue="py-graph-req",
                                  result_queue="py-graph-res",
                                  payload_bucket="py-graphnode-payloads",
                                  upload_cors_origins=",".join(UPLOAD_ORIGINS))
        provision(settings, tls_only=True)
        clients = {service: boto3.client(service, endpoint_url=endpoint,
                                         region_name="us-east-1")
                   for service in ("sqs", "s3")}
        yield clients


@pytest.mark.parametrize("declared", sorted(load_topology().queues))
def test_queues_and_dead_letter_queues_match(both, declared):
    spec = load_topology().queues[declared]
    sqs = both["sqs"]
    for name in (declared, spec.dlq_name):
        built_by_terraform = queue_settings(sqs, f"tf-{name}")
        built_by_provision = queue_settings(sqs, f"py-{name}")
        assert built_by_terraform == built_by_provision, name
    queue = queue_settings(sqs, f"tf-{declared}")
    dlq = queue_settings(sqs, f"tf-{spec.dlq_name}")
    assert queue["VisibilityTimeout"] == spec.visibility_timeout_seconds
    assert queue["SqsManagedSseEnabled"] == dlq["SqsManagedSseEnabled"] == "true"
    assert queue["RedrivePolicy"]["maxReceiveCount"] == spec.max_receive_count
    assert dlq["RedriveAllowPolicy"]["sourceQueueArns"].endswith(f":{declared}")
    for policy in (queue["Policy"], dlq["Policy"]):
        assert policy["Statement"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_buckets_match(both):
    s3 = both["s3"]
    built_by_terraform = bucket_settings(s3, "tf-graphnode-payloads")
    assert built_by_terraform == bucket_settings(s3, "py-graphnode-payloads")
    topology = load_topology()
    expected = {f"expire-{prefix.strip('/')}" for prefix in topology.claim_check_prefixes}
    assert expected | {"abort-incomplete-multipart-uploads"} <= set(
        built_by_terraform["lifecycle"])
    cors = built_by_terraform["cors"]
    assert sorted(cors["AllowedOrigins"]) == sorted(UPLOAD_ORIGINS)
    assert cors["AllowedMethods"] == "PUT" and cors["ExposeHeaders"] == "ETag"


def test_both_buckets_refuse_plain_http(both):
    """The emulator enforces bucket policies: the TLS-only policy takes effect in both."""
    for bucket in ("tf-graphnode-payloads", "py-graphnode-payloads"):
        with pytest.raises(ClientError) as refused:
            both["s3"].put_object(Bucket=bucket, Key="inputs/probe", Body=b"{}")
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
