"""Every error is JSON: ``{"error": {"code": ..., "message": ...}}`` with a 4xx/5xx status."""

from __future__ import annotations

import sqlite3

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue
from gunicorn.http.errors import NoMoreData, ParseException
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from graphnode.api.schemas import ErrorBody, ErrorDetail

#: Seconds a client should wait before retrying a request refused because the store is busy.
STORE_BUSY_RETRY_AFTER = 2
#: Retry-After of a full store: space comes back when an operator or an autoscaler of the
#: volume acts, minutes rather than seconds.
STORE_FULL_RETRY_AFTER = 60
#: Retry-After when S3 (or another AWS service) did not answer in time or answered 5xx.
AWS_UNAVAILABLE_RETRY_AFTER = 5


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_response(status: int, code: str, message: str,
                   headers: dict[str, str] | None = None) -> ResponseReturnValue:
    body = ErrorBody(error=ErrorDetail(code=code, message=message))
    return jsonify(body.model_dump()), status, headers or {}


def store_is_full(exc: sqlite3.OperationalError) -> bool:
    """SQLITE_FULL: the disk under the store (or its WAL) has no room for the write."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == sqlite3.SQLITE_FULL


def aws_is_unavailable(exc: Exception) -> bool:
    """botocore's own errors (no connection, a timeout) or a 5xx, throttling or missing
    bucket answer: AWS (S3, while the API stores an input) is away or slow, not the request
    at fault."""
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(exc, BotoCoreError):
        return True
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        code = exc.response.get("Error", {}).get("Code", "")
        # Throttled, or the bucket missing (the deployment's to restore, not the client's).
        return status >= 500 or "Throttl" in code or code in ("SlowDown", "NoSuchBucket")
    return False


def store_is_busy(exc: sqlite3.OperationalError) -> bool:
    """SQLITE_BUSY or SQLITE_LOCKED, extended codes included: another writer holds the file."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def register(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> ResponseReturnValue:
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> ResponseReturnValue:
        code = (exc.name or "error").lower().replace(" ", "_")
        # Keep what the exception says beyond the body: a 405's Allow, a 401's challenge.
        headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
        return error_response(exc.code or 500, code, exc.description or exc.name, headers)

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(exc: RequestEntityTooLarge) -> ResponseReturnValue:
        limit = app.config["MAX_CONTENT_LENGTH"]
        return error_response(413, "request_entity_too_large",
                              f"the body is over the limit of {limit} bytes "
                              "(GRAPHNODE_MAX_UPLOAD_BYTES)")

    @app.errorhandler(sqlite3.OperationalError)
    def _store_error(exc: sqlite3.OperationalError) -> ResponseReturnValue:
        if store_is_full(exc):  # nothing of the request was recorded; an operator must act
            app.logger.error("store full, answering 503: %s", exc)
            return error_response(503, "store_full", "the job store has no disk space left; "
                                  "nothing was recorded, retry later",
                                  {"Retry-After": str(STORE_FULL_RETRY_AFTER)})
        if not store_is_busy(exc):
            return _unexpected(exc)
        app.logger.warning("store busy, answering 503: %s", exc)
        return error_response(503, "store_busy", "the job store is busy; retry shortly",
                              {"Retry-After": str(STORE_BUSY_RETRY_AFTER)})

    # gunicorn raises these while the view reads a body it cannot parse (a malformed chunk,
    # a body cut short): the client's fault, not ours.
    @app.errorhandler(ParseException)
    @app.errorhandler(NoMoreData)
    def _bad_body(exc: Exception) -> ResponseReturnValue:
        return error_response(400, "malformed_body",
                              f"the request body could not be read: {exc}")

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> ResponseReturnValue:
        if aws_is_unavailable(exc):  # raised before the job was recorded: nothing accepted
            app.logger.warning("AWS unavailable, answering 503: %s", exc)
            return error_response(503, "aws_unavailable",
                                  f"S3 did not answer ({type(exc).__name__}); nothing was "
                                  "accepted, retry shortly",
                                  {"Retry-After": str(AWS_UNAVAILABLE_RETRY_AFTER)})
        app.logger.exception("unhandled error")
        return error_response(500, "internal_error", "internal error; nothing was accepted")
