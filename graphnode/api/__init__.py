"""The Flask API: an app factory and one blueprint per resource.

Serve it with ``gunicorn -k gevent 'graphnode.api:create_app()'``. It sends tasks by name
and never imports ``tasks/``, so the API process never loads torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis
from flask import Flask, current_app

from graphnode.payloads import PayloadStore
from graphnode.settings import ApiSettings
from graphnode.stores import Store, open_store


@dataclass
class Services:
    """What the views use, built once per process; tests pass their own."""

    settings: ApiSettings
    store: Store
    payloads: PayloadStore
    redis: Any


def services() -> Services:
    return current_app.extensions["graphnode"]


def create_app(settings: ApiSettings | None = None, store: Store | None = None) -> Flask:
    from graphnode.api import errors, events, graphs, jobs, workspaces

    settings = settings or ApiSettings()
    app = Flask("graphnode.api")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["graphnode"] = Services(
        settings=settings,
        store=store or open_store(settings.store_url),
        payloads=PayloadStore(settings),
        # Bounded waits: a frozen Redis costs one request a 503, never a stuck worker.
        redis=redis.Redis.from_url(settings.redis_url, socket_timeout=5,
                                   socket_connect_timeout=2),
    )
    errors.register(app)
    app.register_blueprint(graphs.blueprint)
    app.register_blueprint(jobs.blueprint)
    app.register_blueprint(events.blueprint)
    app.register_blueprint(workspaces.blueprint)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
