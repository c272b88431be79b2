"""Shared fixtures. Integration tests start the real local stack once per session; the
store contract suite and the event log tests start their own servers (nx-27017,
redis-server) on free ports, once per session."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

# Every AWS client in the tests talks to an emulator; give boto3 credentials to sign with.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

SERVER_START_SECONDS = 30


@pytest.fixture
def sqlite_store(tmp_path):
    from graphnode.stores.sqlite import SQLiteStore

    return SQLiteStore(tmp_path / "store.db")


@contextmanager
def served(
    name: str, argv: list[str], workdir: Path, ready: Callable[[], object]
) -> Iterator[None]:
    """Run a server process until the block ends; wait for ``ready()`` to answer first."""
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=workdir,
                                   start_new_session=True)
        try:
            deadline = time.monotonic() + SERVER_START_SECONDS
            while not _answers(ready):
                if process.poll() is not None or time.monotonic() > deadline:
                    state = (f"exited with {process.returncode}" if process.poll() is not None
                             else f"not ready after {SERVER_START_SECONDS} s")
                    raise RuntimeError(f"{name} {state}: "
                                       f"{log_path.read_text(errors='replace')[-2000:]}")
                time.sleep(0.1)
            yield
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _answers(ready: Callable[[], object]) -> bool:
    try:
        return bool(ready())
    except Exception:  # not listening yet: refused, timed out, reset
        return False


def _venv_script(name: str) -> str:
    """A console script installed beside this interpreter, else one on PATH."""
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} is not installed: run .ci/setup")
    return found


@pytest.fixture(scope="session")
def mongo_uri(tmp_path_factory) -> Iterator[str]:
    """A server speaking the MongoDB wire protocol, for pymongo's real network path.

    GRAPHNODE_TEST_MONGO_URI (a real MongoDB) when set; otherwise nx-27017, a MongoDB
    wire-compatible server on SQLite, not MongoDB itself, started here on a free port with
    one SQLite file per database (--data-dir), so tests isolate by database name.
    """
    real = os.environ.get("GRAPHNODE_TEST_MONGO_URI")
    if real:
        yield real
        return
    import pymongo

    from graphnode.ops.devstack import free_port

    workdir = tmp_path_factory.mktemp("nx-27017")
    port = free_port()
    uri = f"mongodb://127.0.0.1:{port}/"

    def answers_ping() -> bool:
        with pymongo.MongoClient(uri, serverSelectionTimeoutMS=500) as client:
            return client.admin.command("ping").get("ok") == 1

    argv = [_venv_script("nx-27017"), "--data-dir", str(workdir / "data"), "-p", str(port),
            "--log-file", str(workdir / "server.log"), "--pid-file", str(workdir / "server.pid")]
    with served("nx-27017", argv, workdir, answers_ping):
        yield uri


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> Iterator[str]:
    """A real redis-server (from the OS packages) on a free port, without persistence."""
    import redis

    from graphnode.ops.devstack import free_port

    server = shutil.which("redis-server")
    if server is None:
        raise RuntimeError("redis-server not found: run .ci/setup")
    workdir = tmp_path_factory.mktemp("redis")
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    argv = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(workdir)]
    with served("redis-server", argv, workdir, lambda: redis.Redis.from_url(url).ping()):
        yield url
