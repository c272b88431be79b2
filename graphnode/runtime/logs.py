"""Logs that follow one job: every line carries the ``taskId``, ``userId``, ``taskType``,
``role`` and pipeline ``stage`` known where it was written, as JSON lines
(python-json-logger) for log collectors, or as text for a terminal.

``GRAPHNODE_LOG_FORMAT``: ``json`` or ``text``; by default text on a terminal, JSON
otherwise. The fields come from a context variable, so they follow a request or a task
through every module (and greenlet) without being passed along.
"""

from __future__ import annotations

import contextvars
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pythonjsonlogger.json import JsonFormatter

#: The fields every line may carry, in this order.
CONTEXT_FIELDS = ("role", "taskId", "taskType", "userId", "stage", "requestId")
_context: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar(
    "graphnode_log_context", default={})  # noqa: B039 - never mutated, only replaced
_role = {"role": None}
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(context)s: %(message)s"


def set_role(role: str) -> None:
    """This process's role (api, worker-req, worker-res), on every line it writes."""
    _role["role"] = role


def bind(**fields: Any) -> None:
    """Add fields to the current context (until the enclosing ``log_context`` ends)."""
    _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    token = _context.set({**_context.get(), **{k: v for k, v in fields.items()
                                                 if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def current() -> dict[str, Any]:
    return {"role": _role["role"], **_context.get()}


class ContextFilter(logging.Filter):
    """Puts the context fields on the record, for either formatter."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = current()
        for name in CONTEXT_FIELDS:
            if getattr(record, name, None) is None:
                setattr(record, name, fields.get(name))
        shown = [f"{name}={fields[name]}" for name in CONTEXT_FIELDS[1:]
                 if fields.get(name) is not None and name != "requestId"]
        record.context = f" [{' '.join(shown)}]" if shown else ""
        return True


class JobJsonFormatter(JsonFormatter):
    """One JSON object per line; context fields that are unknown are left out."""

    def add_fields(self, log_record: dict[str, Any], record: logging.LogRecord,
                   message_dict: dict[str, Any]) -> None:
        super().add_fields(log_record, record, message_dict)
        log_record.pop("context", None)
        for name in CONTEXT_FIELDS:
            if log_record.get(name) is None:
                log_record.pop(name, None)


def wants_json() -> bool:
    chosen = os.environ.get("GRAPHNODE_LOG_FORMAT", "").lower()
    if chosen in ("json", "text"):
        return chosen == "json"
    return not sys.stderr.isatty()


def formatter() -> logging.Formatter:
    if wants_json():
        return JobJsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s",
                                rename_fields={"levelname": "level", "name": "logger",
                                               "asctime": "time"})
    return logging.Formatter(TEXT_FORMAT)


def apply(handler: logging.Handler) -> None:
    """Give a handler (ours, Celery's, gunicorn's) our format and the context fields."""
    handler.setFormatter(formatter())
    if not any(isinstance(f, ContextFilter) for f in handler.filters):
        handler.addFilter(ContextFilter())


def configure(role: str, level: int = logging.INFO) -> None:
    """For a process whose root logger has no handler yet (the API under gunicorn): one
    stderr handler in our format; an existing one gets our format."""
    set_role(role)
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
        root.setLevel(level)
    for handler in root.handlers:
        apply(handler)
