"""An ``[api]``-only install runs the web role, the result worker and Flower: built once
in ``.venv-api`` (reused while setup.cfg is unchanged), without the GPU extras."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv-api"

pytestmark = pytest.mark.long


def api_venv() -> Path:
    python = VENV / "bin" / "python"
    stamp = VENV / ".installed"
    if not stamp.exists() or (ROOT / "setup.cfg").stat().st_mtime > stamp.stat().st_mtime:
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-e", f"{ROOT}[api]"],
                       check=True)
        stamp.touch()
    return python


def test_web_role_result_worker_and_flower_load_without_the_gpu_extras(tmp_path):
    probe = (
        "import sys, json\n"
        "from graphnode.api import create_app\n"
        "from graphnode.settings import ApiSettings\n"
        f"app = create_app(ApiSettings(store_url='sqlite:///{tmp_path}/x.db',\n"
        "                              aws_endpoint_url='http://127.0.0.1:4566'))\n"
        "assert app.test_client().get('/healthz').status_code == 200\n"
        "import graphnode\n"
        "from celery.apps.worker import Worker\n"
        "Worker.__init__ = lambda self, app=None, hostname=None, **_: (\n"
        "    (app or self.app).loader.init_worker())\n"
        "graphnode.celery.Worker(hostname='res@test', queues=['graph-res'])\n"
        "assert 'GRAPH_GENERATION_RESULT' in graphnode.celery.tasks\n"
        "import flower.command, gunicorn.workers.ggevent\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    out = subprocess.run([str(api_venv()), "-c", probe], capture_output=True, text=True,
                         cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    loaded = set(__import__("json").loads(out.stdout.splitlines()[-1]))
    assert not loaded & {"tasks", "numpy", "torch", "sklearn"}, loaded
