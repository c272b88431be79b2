"""GraphNode: AI-chat history to a knowledge graph, over Flask, Celery and SQS.

``celery -A graphnode worker -Q graph-req`` (and ``flower``, ``events``) finds the Celery
app as ``graphnode.celery``, built on first access, that is when the role starts: importing
graphnode reads no setting and connects to nothing.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "celery":
        from graphnode.runtime.celery_app import create_celery_app

        app = globals()["celery"] = create_celery_app()
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
