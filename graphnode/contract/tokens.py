"""Bearer tokens: signed JWTs whose subject is the user id. The user never comes from a body."""

from __future__ import annotations

import re
import time

import jwt

from graphnode.contract.messages import USER_ID_PATTERN
from graphnode.settings import ApiSettings


class AuthError(Exception):
    """A missing, malformed, expired or wrongly signed token."""


def mint_token(settings: ApiSettings, user_id: str, ttl_seconds: int = 3600) -> str:
    if not re.fullmatch(USER_ID_PATTERN, user_id):
        raise ValueError(f"user id {user_id!r} must match {USER_ID_PATTERN}")
    now = int(time.time())
    claims = {"sub": user_id, "iat": now, "exp": now + ttl_seconds}
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), settings.jwt_algorithm)


def verify_token(settings: ApiSettings, token: str) -> str:
    """The user id of a valid token."""
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret.get_secret_value(),
            algorithms=[settings.jwt_algorithm],
            options={"require": ["sub", "exp"]},
        )
    except jwt.ExpiredSignatureError:
        raise AuthError("token expired") from None
    except jwt.InvalidTokenError as exc:
        raise AuthError(f"invalid token: {exc}") from None
    user_id = claims["sub"]
    if not isinstance(user_id, str) or not re.fullmatch(USER_ID_PATTERN, user_id):
        raise AuthError("invalid token: subject is not a valid user id")
    return user_id
