"""The Flask API: an app factory and one blueprint per resource.

Serve it with ``gunicorn -k gevent 'graphnode.api:create_app()'``. It sends tasks by name
and never imports ``tasks/``, so the API process never loads torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import redis
from flask import Flask

from graphnode.api.services import Services, services
from graphnode.contract.payloads import PayloadStore
from graphnode.settings import ApiSettings, refuse_public_jwt_secret
from graphnode.stores import Store, open_store

if TYPE_CHECKING:
    from celery import Celery

__all__ = ["Services", "create_app", "services"]


def celery_init_app(app: Flask, settings: ApiSettings) -> Celery:
    """The API's Celery app, as in Flask's Celery pattern: built with the app from the same
    settings, default for the process, kept in ``app.extensions["celery"]``. It only sends
    (tasks by name; they run in the workers, never here), so it needs neither Flask's app
    context in tasks nor the worker's wiring."""
    from graphnode.runtime.celery_app import create_celery_app

    celery_app = create_celery_app(settings, worker=False)
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app


def create_app(settings: ApiSettings | None = None, store: Store | None = None) -> Flask:
    """The app; refuses (RuntimeError) the public default JWT secret outside the local stack."""
    from graphnode.api import (
        errors,
        events,
        graphs,
        jobs,
        openapi,
        ops,
        uploads,
        web,
        workspaces,
    )
    from graphnode.api.limits import Limiter
    from graphnode.api.offload import cooperative_store
    from graphnode.api.request import BoundedRequest
    from graphnode.api.schemas import Health
    from graphnode.runtime import logs

    settings = settings or ApiSettings()
    refuse_public_jwt_secret(settings)
    logs.configure("api")
    app = Flask("graphnode.api")
    app.request_class = BoundedRequest
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["graphnode"] = Services(
        settings=settings,
        store=cooperative_store(
            store or open_store(settings.store_url,
                                busy_timeout=settings.store_busy_timeout_seconds)),
        payloads=PayloadStore(settings, timeout=settings.payload_timeout_seconds),
        # Bounded waits: a frozen Redis costs one request a 503, never a stuck worker.
        redis=redis.Redis.from_url(settings.redis_url, socket_timeout=5,
                                   socket_connect_timeout=2,
                                   max_connections=settings.redis_max_connections),
        limiter=Limiter(settings),
    )
    celery_init_app(app, settings)
    errors.register(app)
    app.register_blueprint(graphs.blueprint)
    app.register_blueprint(jobs.blueprint)
    app.register_blueprint(events.blueprint)
    app.register_blueprint(workspaces.blueprint)
    app.register_blueprint(uploads.blueprint)
    app.register_blueprint(openapi.blueprint)
    app.register_blueprint(web.blueprint)
    ops.register(app, settings.cors_origin_list)

    @app.get("/healthz")
    @openapi.documented(openapi.Operation("Liveness.", {200: ("Alive", Health)},
                                          secured=False, tags=("meta",)))
    def healthz() -> dict[str, str]:
        """Liveness only: it touches neither the store nor Redis, so a busy store cannot
        make the worker look dead."""
        return {"status": "ok"}

    return app
