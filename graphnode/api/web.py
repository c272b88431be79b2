"""The person's page: ``/`` serves the single-page app from ``static/`` (no CDN, no Node at
run time; the graph library is vendored, see ``.ci/refresh-vendored-js``)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app

from graphnode.api.openapi import Operation, documented

blueprint = Blueprint("web", __name__)


@blueprint.get("/")
@documented(Operation("The web page: upload an export, follow the job, explore the graph.",
                      {200: ("An HTML page", "text/html")}, secured=False, tags=("meta",)))
def index() -> Response:
    response = current_app.send_static_file("index.html")
    # The page reads its token from the URL fragment; it is never sent or cached by a proxy.
    response.headers["Cache-Control"] = "no-cache"
    return response
