"""The rooms stay apart: the API never loads the AI libraries, workers/ never the pipeline."""

import subprocess
import sys

HEAVY = ("torch", "transformers", "sentence_transformers", "faiss", "hdbscan", "sklearn")


def modules_loaded_by(code: str) -> set[str]:
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True,
                         text=True).stdout
    import json

    return {name.split(".")[0] for name in json.loads(out.splitlines()[-1])}


def test_api_process_never_imports_heavy_libraries(tmp_path):
    loaded = modules_loaded_by(
        "from graphnode.api import create_app\n"
        "from graphnode.settings import ApiSettings\n"
        f"app = create_app(ApiSettings(store_url='sqlite:///{tmp_path}/x.db',\n"
        "                              aws_endpoint_url='http://127.0.0.1:4566'))\n"
        "app.test_client().get('/healthz')\n"
        "import graphnode.cli, graphnode.celery_app\n"
    )
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


def test_registering_all_tasks_stays_light():
    """A worker loads every task module at start; the pipeline loads only inside a task."""
    loaded = modules_loaded_by(
        "import graphnode\n"
        "graphnode.celery.loader.import_default_modules()\n"
        "assert 'GRAPH_GENERATION_REQUEST' in graphnode.celery.tasks\n"
    )
    assert not loaded & set(HEAVY), loaded & set(HEAVY)
    assert "tasks" in loaded and "workers" in loaded


def test_workers_package_does_not_import_the_pipeline():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "workers"
    for path in root.rglob("*.py"):
        text = path.read_text()
        assert "tasks.pipeline" not in text and "from tasks" not in text, path


def test_the_result_worker_loads_no_request_task_and_no_numpy(tmp_path):
    """A worker started with -Q graph-res imports workers/ only (numpy stays out)."""
    loaded = modules_loaded_by(
        "import graphnode\n"
        "from celery.apps.worker import Worker\n"
        "# Celery's worker imports its includes first of all; the rest needs a broker.\n"
        "Worker.__init__ = lambda self, app=None, hostname=None, **_: (\n"
        "    (app or self.app).loader.init_worker())\n"
        "graphnode.celery.Worker(hostname='res@test', queues=['graph-res'])\n"
        "assert 'GRAPH_GENERATION_RESULT' in graphnode.celery.tasks\n"
        "assert 'GRAPH_GENERATION_REQUEST' not in graphnode.celery.tasks\n"
    )
    assert "tasks" not in loaded and "numpy" not in loaded, loaded & {"tasks", "numpy"}


def test_the_top_level_tasks_and_workers_are_ours_alone():
    """The layout's generic names: no other installed distribution claims them, and the
    packages imported under them are the ones installed beside graphnode."""
    import importlib
    from importlib.metadata import packages_distributions
    from pathlib import Path

    owners = packages_distributions()
    home = Path(importlib.import_module("graphnode").__file__).resolve().parents[1]
    for name in ("graphnode", "tasks", "workers"):
        assert set(owners.get(name, [])) == {"graphnode"}, (name, owners.get(name))
        assert Path(importlib.import_module(name).__file__).resolve().parents[1] == home, name
