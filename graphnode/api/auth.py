"""The ``current_user`` of a request, from its bearer token."""

from __future__ import annotations

from flask import request

from graphnode.api.errors import ApiError
from graphnode.api.services import services
from graphnode.contract.tokens import AuthError, verify_token


def current_user(allow_query_token: bool = False) -> str:
    """The user id of the request's bearer token; raises a 401 ApiError otherwise.

    ``allow_query_token`` is for EventSource, which cannot send headers: it may pass the
    token as ``?access_token=``.
    """
    header = request.headers.get("Authorization", "")
    token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
    if not token and allow_query_token:
        token = request.args.get("access_token", "")
    if not token:
        raise ApiError(401, "unauthorized", "a bearer token is required")
    try:
        return verify_token(services().settings, token)
    except AuthError as exc:
        raise ApiError(401, "unauthorized", str(exc)) from None
