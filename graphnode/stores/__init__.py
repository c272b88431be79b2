"""Stores of jobs and graphs: pick the adapter from a URL (``sqlite:///path`` or ``mongodb://``).

``events`` beside them keeps each user's event log in Redis, for SSE that resumes.
"""

from __future__ import annotations

from graphnode.stores.base import (
    Committed,
    Job,
    JobCounts,
    JobExistsError,
    Outcome,
    ResultKind,
    Store,
    StoredResult,
)

__all__ = ["Committed", "Job", "JobCounts", "JobExistsError", "Outcome", "ResultKind", "Store",
           "StoredResult", "open_store"]


def open_store(url: str, *, busy_timeout: float = 30.0) -> Store:
    """``busy_timeout``: how long a SQLite write waits for another writer (seconds)."""
    if url.startswith("sqlite:///"):
        from graphnode.stores.sqlite import SQLiteStore

        return SQLiteStore(url.removeprefix("sqlite:///"), busy_timeout=busy_timeout)
    if url.startswith(("mongodb://", "mongodb+srv://")):
        from graphnode.stores.mongo import MongoStore

        return MongoStore(url)
    raise ValueError(f"unsupported store URL {url!r}: use sqlite:///path or mongodb://host/db")
