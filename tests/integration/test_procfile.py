"""``honcho start`` runs the whole Procfile from nothing (emulator, Redis, API, both workers,
Flower) on ports of its own, takes a job to COMPLETED, and stops on Ctrl-C."""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import requests

from graphnode.ops.devstack import free_port
from tests.integration.conftest import wait_for, wait_for_job_end

ROOT = Path(__file__).resolve().parents[2]
#: honcho's exit status after SIGINT (128 + 2), once every process has stopped.
INTERRUPTED = 130


def ready(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).ok
    except requests.RequestException:  # not listening yet
        return False


def procfile_env(workdir: Path) -> tuple[dict[str, str], dict[str, int]]:
    ports = {name: free_port() for name in ("api", "aws", "redis", "flower", "req", "res")}
    env = {
        **os.environ,
        # python, celery, gunicorn of this environment, as an activated venv has them.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PORT": str(ports["api"]),
        "GRAPHNODE_EMULATOR_PORT": str(ports["aws"]),
        "GRAPHNODE_AWS_ENDPOINT_URL": f"http://127.0.0.1:{ports['aws']}",
        "GRAPHNODE_REDIS_PORT": str(ports["redis"]),
        "GRAPHNODE_REDIS_URL": f"redis://127.0.0.1:{ports['redis']}/0",
        "FLOWER_PORT": str(ports["flower"]),
        "FLOWER_UNAUTHENTICATED_API": "true",
        "GRAPHNODE_REQ_METRICS_PORT": str(ports["req"]),
        "GRAPHNODE_RES_METRICS_PORT": str(ports["res"]),
        "GRAPHNODE_STORE_URL": f"sqlite:///{workdir / 'graphnode.db'}",
        "GRAPHNODE_JWT_SECRET": secrets.token_urlsafe(32),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    return env, ports


def test_honcho_start_runs_a_job_from_nothing_and_stops_cleanly(tmp_path):
    from graphnode.contract.tokens import mint_token
    from graphnode.ops.client import ApiClient
    from graphnode.samples import load_sample_export
    from graphnode.settings import ApiSettings

    env, ports = procfile_env(tmp_path)
    log_path = tmp_path / "honcho.log"
    with log_path.open("wb") as log:
        honcho = subprocess.Popen(
            [str(Path(sys.executable).with_name("honcho")), "start", "-f", str(ROOT / "Procfile"),
             "-d", str(tmp_path), "--no-colour"],
            env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        api = f"http://127.0.0.1:{ports['api']}"
        # Ready: store, Redis, the request queue and the bucket, which a worker provisioned.
        wait_for(lambda: ready(f"{api}/readyz"), 180, "the API to be ready", interval=1)
        settings = ApiSettings(jwt_secret=env["GRAPHNODE_JWT_SECRET"])
        client = ApiClient(api, mint_token(settings, "procfile-user"))
        task_id = client.generate(load_sample_export()[:10])["taskId"]
        job = wait_for_job_end(client, task_id, 240, interval=1)
        assert job["status"] == "COMPLETED", job
        client.session.close()  # an idle keep-alive connection holds a gunicorn worker 2 s
        flower = f"http://127.0.0.1:{ports['flower']}"
        workers = wait_for(lambda: requests.get(f"{flower}/api/workers", timeout=10,
                                                params={"refresh": "true"}).json(),
                           30, "Flower to list the workers", interval=2)
        assert sorted(name.split("@")[0] for name in workers) == ["req", "res"]
    finally:
        honcho.send_signal(signal.SIGINT)
        try:
            returncode = honcho.wait(60)
        except subprocess.TimeoutExpired:
            returncode = None
        # Whatever honcho left behind (each process leads a session of its own).
        output = log_path.read_text(errors="replace")
        for pid in re.findall(r"started \(pid=(\d+)\)", output):
            try:
                os.killpg(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        if returncode is None:
            honcho.kill()
            honcho.wait()
    assert returncode == INTERRUPTED, output[-3000:]
    assert "SIGKILL" not in output, "a process had to be killed:\n" + output[-3000:]
    assert "Traceback" not in output, output[-5000:]
    # Each worker's banner lists the tasks of its role only.
    banners = {role: set(re.findall(rf"^\S*\s*{role}\.1\s+\|\s+\. (\w+)$", output, re.M))
               for role in ("worker-req", "worker-res")}
    assert banners["worker-req"] == {"GRAPH_GENERATION_REQUEST", "GRAPH_SUMMARY_REQUEST",
                                     "ADD_NODE_REQUEST", "MICROSCOPE_INGEST_REQUEST"}, banners
    assert "GRAPH_GENERATION_RESULT" in banners["worker-res"], banners
    assert not any(name.endswith("_REQUEST") for name in banners["worker-res"]), banners
    # Workers that started before the emulator answered said so in one line and retried.
    for line in output.splitlines():
        if "not reachable" in line:
            assert "retrying in" in line, line
