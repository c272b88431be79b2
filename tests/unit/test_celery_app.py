"""The Celery app is built when a role starts, from the settings of that moment."""

from __future__ import annotations

import subprocess
import sys

from tests.unit.test_import_rules import modules_loaded_by


def test_importing_graphnode_builds_nothing():
    loaded = modules_loaded_by("import graphnode")
    assert not loaded & {"celery", "kombu", "boto3", "pydantic_settings", "flask"}, loaded


def test_celery_dash_a_finds_an_app_built_from_the_settings_of_its_start():
    """Task modules imported first (as a worker's includes may be) join the app built
    later; the settings are those of the moment ``celery -A graphnode`` looks it up."""
    probe = (
        "import os, graphnode, tasks.graph_generation, workers.graph_generation\n"
        "os.environ['GRAPHNODE_REQUEST_QUEUE'] = 'late-req'\n"
        "from celery.app.utils import find_app\n"
        "app = find_app('graphnode')\n"
        "assert app is graphnode.celery, 'one app per process'\n"
        "assert app.conf.task_routes['GRAPH_GENERATION_REQUEST'] == {'queue': 'late-req'}\n"
        "assert app.tasks['GRAPH_GENERATION_REQUEST'].app is app\n"
        "assert tasks.graph_generation.generate_graph.app is app\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]


def test_the_api_sends_with_the_app_of_its_own_settings(tmp_path):
    from graphnode.api import create_app
    from graphnode.settings import ApiSettings

    app = create_app(ApiSettings(store_url=f"sqlite:///{tmp_path}/x.db",
                                 aws_endpoint_url="http://127.0.0.1:4566",
                                 request_queue="api-req", result_queue="api-res"))
    celery_app = app.extensions["celery"]
    assert celery_app.conf.task_routes["GRAPH_SUMMARY_REQUEST"] == {"queue": "api-req"}
    assert celery_app.conf.task_routes["GRAPH_SUMMARY_RESULT"] == {"queue": "api-res"}
    assert not hasattr(celery_app, "graphnode_heartbeat"), "the API is not a worker"
