"""What the API tells operators: readiness, Prometheus metrics, one access line per request
with its ``X-Request-ID``, and CORS for a browser client on another origin.

``/healthz`` (in ``graphnode.api``) is liveness and touches nothing; ``/readyz`` asks every
part a request needs and answers 503 naming the parts that failed.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from flask import Blueprint, Flask, Response, g, request

from graphnode.api.openapi import Operation, documented
from graphnode.api.schemas import Readiness
from graphnode.aws import aws_client
from graphnode.runtime import metrics
from graphnode.runtime.logs import log_context

logger = logging.getLogger("graphnode.access")
blueprint = Blueprint("ops", __name__)

REQUEST_ID_HEADER = "X-Request-ID"
#: A request id from a client or proxy is echoed only if it looks like one (no log injection).
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}")
#: Each readiness check waits at most this long.
READY_TIMEOUT_SECONDS = 2.0


@blueprint.get("/readyz")
@documented(Operation("Readiness: the store, Redis, the request queue and the bucket.",
                      {200: ("Ready", Readiness), 503: ("A part is unavailable", Readiness)},
                      secured=False, tags=("meta",)))
def readyz() -> tuple[dict[str, Any], int]:
    from graphnode.api.services import services

    svc = services()
    checks = {"store": lambda: svc.store.get_job("readyz-probe"),
              "redis": svc.redis.ping,
              "queue": lambda: _aws("sqs").get_queue_attributes(
                  QueueUrl=svc.settings.queue_url(svc.settings.request_queue),
                  AttributeNames=["QueueArn"]),
              "bucket": lambda: _aws("s3").head_bucket(Bucket=svc.settings.payload_bucket)}
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:
            results[name] = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
    failing = [name for name, result in results.items() if result != "ok"]
    body = {"status": "ok" if not failing else "unavailable", "checks": results}
    if failing:
        body["failing"] = failing
    return body, 503 if failing else 200


@blueprint.get("/metrics")
@documented(Operation("Prometheus metrics of this API process (text exposition format).",
                      {200: ("Metrics", "text/plain")}, secured=False, tags=("meta",)))
def prometheus_metrics() -> Response:
    from flask import current_app

    collector = current_app.extensions["graphnode_queue_collector"]
    data, content_type = metrics.exposition(metrics.registry_for_scrape([collector]))
    return Response(data, content_type=content_type)


def _aws(service: str) -> Any:
    """One client per service and process, with short timeouts (a probe must not hang)."""
    from flask import current_app

    clients = current_app.extensions.setdefault("graphnode_ops_clients", {})
    if service not in clients:
        from graphnode.api.services import services

        clients[service] = aws_client(service, services().settings,
                                      timeout=READY_TIMEOUT_SECONDS)
    return clients[service]


def register(app: Flask, cors_origins: list[str]) -> None:
    from graphnode.api.services import services

    with app.app_context():
        app.extensions["graphnode_queue_collector"] = metrics.QueueCollector(services().settings)
    app.register_blueprint(blueprint)
    if cors_origins:
        from flask_cors import CORS

        CORS(app, origins=cors_origins, supports_credentials=False,
             allow_headers=["Authorization", "Content-Type", "Last-Event-ID", REQUEST_ID_HEADER],
             expose_headers=["Location", "Retry-After", REQUEST_ID_HEADER])

    @app.before_request
    def _start() -> None:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = given if REQUEST_ID_PATTERN.fullmatch(given) else uuid.uuid4().hex
        g.request_started = time.perf_counter()
        g.log_context = log_context(requestId=g.request_id)
        g.log_context.__enter__()

    @app.after_request
    def _account(response: Response) -> Response:
        elapsed = time.perf_counter() - g.get("request_started", time.perf_counter())
        route = request.url_rule.rule if request.url_rule else "<unmatched>"
        metrics.HTTP_REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        metrics.HTTP_LATENCY.labels(request.method, route).observe(elapsed)
        response.headers[REQUEST_ID_HEADER] = g.get("request_id", "")
        logger.info("%s %s %d %.1f ms", request.method, request.path, response.status_code,
                    elapsed * 1000, extra={
                        "method": request.method, "path": request.path, "route": route,
                        "status": response.status_code, "durationMs": round(elapsed * 1000, 1),
                        "remoteAddr": request.remote_addr})
        return response

    @app.teardown_request
    def _forget(_: BaseException | None = None) -> None:
        context = g.pop("log_context", None)
        if context is not None:
            context.__exit__(None, None, None)
