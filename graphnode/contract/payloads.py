"""The S3 payload store (claim check): large data travels as S3 objects, messages carry keys.

Keys are built only from ids that the contract validates, never from user-supplied
strings, and each object's SHA-256 is recorded at upload and verified at download.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from graphnode.aws import aws_client
from graphnode.contract.messages import TASK_ID_PATTERN, USER_ID_PATTERN
from graphnode.settings import CommonSettings

CHECKSUM_METADATA_KEY = "sha256"
#: The object tag that lets the bucket's lifecycle expire a graph copy no current graph uses,
#: after a grace period (topology.yaml ``superseded_expiration_days``).
SUPERSEDED_TAG = {"Key": "graphnode-superseded", "Value": "true"}
#: Only these mean the object is not there. AccessDenied/403 is a permission problem.
MISSING_KEY_CODES = {"NoSuchKey", "404"}
DENIED_CODES = {"AccessDenied", "403"}


class PayloadError(RuntimeError):
    """A payload is missing or does not match its recorded checksum: the job cannot succeed."""


class PayloadAccessError(RuntimeError):
    """S3 refused access to a payload: an infrastructure fault (IAM, bucket policy, KMS).

    Deliberately not a ``PayloadError``: the job is not failed at once but the message is
    left unacknowledged, so SQS redelivers it and a fixed policy lets it finish.
    """


class PayloadMissing(PayloadError):
    """A payload does not exist: expired, replaced, or never written."""


def input_key(user_id: str, task_id: str, name: str = "input.json") -> str:
    return f"inputs/{_safe_user(user_id)}/{_safe_task(task_id)}/{name}"


def upload_key(user_id: str, upload_id: str) -> str:
    """Where a presigned upload of an export lands (``POST /v1/uploads``)."""
    return f"uploads/{_safe_user(user_id)}/{_safe_task(upload_id)}/export.json"


def result_key(user_id: str, task_id: str, name: str) -> str:
    return f"results/{_safe_user(user_id)}/{_safe_task(task_id)}/{name}"


def graph_key(user_id: str, task_id: str, name: str) -> str:
    """Where a user's current graph and its embeddings are kept beyond the claim checks."""
    return f"graphs/{_safe_user(user_id)}/{_safe_task(task_id)}/{name}"


#: Where a user's objects live; each area keeps one folder per user (``<area>/<user>/``).
USER_AREAS = ("inputs", "uploads", "results", "graphs")


def foreign_keys(user_id: str, keys: list[str], task_id: str | None = None) -> list[str]:
    """The keys that are not ``user_id``'s own: a request may read anything in the user's
    areas; with ``task_id``, a result's outputs must lie where the GPU worker writes that
    task's (``results/<user>/<task>/``). A message that names another user's object lies."""
    if task_id is not None:
        allowed: tuple[str, ...] = (result_key(user_id, task_id, ""),)
    else:
        allowed = tuple(f"{area}/{_safe_user(user_id)}/" for area in USER_AREAS)
    return [key for key in keys if not key.startswith(allowed)]


def _safe_user(user_id: str) -> str:
    if not re.fullmatch(USER_ID_PATTERN, user_id):
        raise ValueError(f"user id {user_id!r} is not a valid key part")
    # A digest, not the raw id: user ids may contain '@' and '.', and keys should not leak them.
    return hashlib.sha256(user_id.encode()).hexdigest()[:32]


def _safe_task(task_id: str) -> str:
    if not re.fullmatch(TASK_ID_PATTERN, task_id):
        raise ValueError(f"task id {task_id!r} is not a valid key part")
    return task_id


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class PayloadStore:
    """Puts and gets claim-check objects in the payload bucket."""

    def __init__(self, settings: CommonSettings, client: Any | None = None,
                 timeout: float | None = None) -> None:
        """``timeout``: each call gives up after that many seconds, untried again (the
        API, whose client is waiting); None: botocore's 60 s and five tries (workers)."""
        self.bucket = settings.payload_bucket
        self._client = client
        self._settings = settings
        self._timeout = timeout

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws_client("s3", self._settings, timeout=self._timeout)
        return self._client

    def put_bytes(self, key: str, data: bytes, content_type: str) -> str:
        """Upload and return the SHA-256 the reader will check."""
        digest = sha256_hex(data)
        self.client.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
            Metadata={CHECKSUM_METADATA_KEY: digest},
        )
        return digest

    def get_bytes(self, key: str, expected_sha256: str | None = None) -> bytes:
        from botocore.exceptions import ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            if code in DENIED_CODES:
                # A role without s3:ListBucket on the prefix also gets AccessDenied for a
                # missing key; the message says so rather than guessing which it is.
                raise PayloadAccessError(
                    f"payload {key}: S3 {code} ({error.get('Message', 'no message')}) on bucket "
                    f"{self.bucket}: check the role's s3:GetObject (and s3:ListBucket, without "
                    f"which a missing key also reads as AccessDenied); retried on redelivery"
                ) from exc
            if code not in MISSING_KEY_CODES:
                raise
            raise PayloadMissing(
                f"payload {key} does not exist (expired or never written)") from None
        data = response["Body"].read()
        recorded = response.get("Metadata", {}).get(CHECKSUM_METADATA_KEY)
        actual = sha256_hex(data)
        for expected in (recorded, expected_sha256):
            if expected and expected != actual:
                raise PayloadError(f"payload {key} is corrupt: sha256 {actual} != {expected}")
        return data

    def copy(self, source: str, target: str) -> None:
        """Server-side copy; the checksum metadata travels with the object."""
        self.client.copy_object(Bucket=self.bucket, Key=target,
                                CopySource={"Bucket": self.bucket, "Key": source})

    def mark_superseded(self, keys: list[str]) -> None:
        """Tag objects for expiry; missing ones (never written, or gone) are skipped."""
        from botocore.exceptions import ClientError

        for key in keys:
            try:
                self.client.put_object_tagging(Bucket=self.bucket, Key=key,
                                               Tagging={"TagSet": [SUPERSEDED_TAG]})
            except ClientError as exc:
                if exc.response["Error"]["Code"] not in MISSING_KEY_CODES:
                    raise

    def put_json(self, key: str, document: Any) -> str:
        data = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
        return self.put_bytes(key, data, "application/json")

    def get_json(self, key: str, expected_sha256: str | None = None) -> Any:
        return json.loads(self.get_bytes(key, expected_sha256))
