"""Presigned uploads: a large export goes straight to S3, not through the API.

``POST /v1/uploads`` answers a presigned PUT whose signature binds the exact size
(``Content-Length``) and the content type, valid for ``UPLOAD_URL_SECONDS``, to a key built
only from the caller's hashed user id and a fresh upload id. ``POST /v1/graphs/generate``
with ``{"uploadKey": ...}`` then checks that the key is the caller's, that the object is there
and that its size is within the limit, before it accepts the job.
"""

from __future__ import annotations

import re
import uuid
from functools import lru_cache
from typing import Any

from botocore.exceptions import ClientError
from flask import Blueprint, request
from flask.typing import ResponseReturnValue
from pydantic import ValidationError

from graphnode.api.auth import current_user
from graphnode.api.body import parse_json, read_export
from graphnode.api.errors import ApiError
from graphnode.api.openapi import Operation, documented
from graphnode.api.schemas import GenerateFromUpload, UploadRequest, UploadTicket
from graphnode.api.services import services
from graphnode.contract.payloads import upload_key

#: How long a presigned PUT stays valid.
UPLOAD_URL_SECONDS = 300
UPLOAD_ID = re.compile(r"uploads/[0-9a-f]+/([0-9a-f]{32})/export\.json")

blueprint = Blueprint("uploads", __name__, url_prefix="/v1/uploads")


@lru_cache(maxsize=4)
def _presigner(region: str, endpoint_url: str | None) -> Any:
    """An S3 client that signs with SigV4, whose signed headers (size, type) S3 checks."""
    import boto3
    from botocore.config import Config

    return boto3.client("s3", region_name=region, endpoint_url=endpoint_url,
                        config=Config(signature_version="s3v4"))


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}"
                     for e in exc.errors())


@blueprint.post("")
@documented(Operation(
    "A presigned PUT for an export too large to post (size and type bound in the "
    "signature, short expiry).",
    {201: ("PUT the file to `url` with `headers`", UploadTicket),
     400: ("Bad size or type", None), 413: ("Larger than the upload limit", None),
     415: ("The upload request is not JSON", None)},
    body=(UploadRequest,), tags=("uploads",)))
def create_upload() -> ResponseReturnValue:
    user_id = current_user()
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "send the upload request as JSON")
    try:
        wanted = UploadRequest.model_validate(parse_json(request.get_data()))
    except ValidationError as exc:
        raise ApiError(400, "invalid_upload", _problems(exc)) from None
    svc = services()
    limit = svc.settings.max_upload_bytes
    if wanted.size > limit:
        raise ApiError(413, "upload_too_large",
                       f"{wanted.size} bytes is over the limit of {limit} bytes "
                       "(GRAPHNODE_MAX_UPLOAD_BYTES)")
    upload_id = uuid.uuid4().hex
    key = upload_key(user_id, upload_id)
    url = _presigner(svc.settings.aws_region, svc.settings.aws_endpoint_url).generate_presigned_url(
        "put_object",
        Params={"Bucket": svc.payloads.bucket, "Key": key,
                "ContentType": wanted.contentType, "ContentLength": wanted.size},
        ExpiresIn=UPLOAD_URL_SECONDS, HttpMethod="PUT",
    )
    ticket = UploadTicket(uploadId=upload_id, uploadKey=key, url=url,
                          headers={"Content-Type": wanted.contentType,
                                   "Content-Length": str(wanted.size)},
                          expiresIn=UPLOAD_URL_SECONDS, maxBytes=limit)
    return ticket.model_dump(), 201


def uploaded_export(user_id: str, body: dict[str, Any]) -> Any:
    """The export the caller PUT at ``body["uploadKey"]``, once its key, presence and size
    are checked; options beside the key stay in the body for the caller to read."""
    try:
        request_body = GenerateFromUpload.model_validate(body)
    except ValidationError as exc:
        raise ApiError(400, "invalid_options", _problems(exc)) from None
    key = request_body.uploadKey
    match = UPLOAD_ID.fullmatch(key)
    # Another user's key is as good as absent: it is never looked up.
    if match is None or key != upload_key(user_id, match.group(1)):
        raise ApiError(404, "upload_not_found", "no such upload: ask POST /v1/uploads")
    svc = services()
    try:
        head = svc.payloads.client.head_object(Bucket=svc.payloads.bucket, Key=key)
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            raise ApiError(404, "upload_not_found",
                           "nothing was uploaded at this key (yet): PUT it first") from None
        raise
    limit = svc.settings.max_upload_bytes
    if head["ContentLength"] > limit:
        raise ApiError(413, "upload_too_large",
                       f"the upload is {head['ContentLength']} bytes, over {limit}")
    items = read_export(svc.payloads.get_bytes(key), limit)
    svc.payloads.client.delete_object(Bucket=svc.payloads.bucket, Key=key)
    return items
