"""The request class: a chunked body over ``MAX_CONTENT_LENGTH`` is a 413 the moment it is.

werkzeug enforces the limit on a body without ``Content-Length`` (chunked) by reading at most
that many bytes, then its ``readall`` stops and hands the cut body on as if it were whole: a
JSON body then fails to parse (400) and a multipart upload loses its file (400), only after
the client has sent everything. Here the stream reads one byte past the limit and raises
``RequestEntityTooLarge`` on the read that crosses it.
"""

from __future__ import annotations

from typing import IO, cast

from flask import Request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream


class MaxLengthStream(LimitedStream):
    """At most ``limit`` bytes; reading the byte after them raises ``RequestEntityTooLarge``."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        super().__init__(stream, limit + 1, is_max=True)

    def readinto(self, buffer: bytearray) -> int | None:  # type: ignore[override]
        size = super().readinto(buffer)
        if self.tell() >= self.limit:
            raise RequestEntityTooLarge()
        return size


class BoundedRequest(Request):
    @cached_property
    def stream(self) -> IO[bytes]:  # type: ignore[override]
        limit = self.max_content_length
        # gunicorn sets wsgi.input_terminated: its input ends where the chunked body ends.
        if (self.content_length is None and limit is not None
                and self.environ.get("wsgi.input_terminated")):
            return cast(IO[bytes], MaxLengthStream(self.environ["wsgi.input"], limit))
        return super().stream
