"""The embedded default stack as local processes: the AWS emulator, Redis, the API, workers.

Used by ``graphnode demo``, ``graphnode stack`` and the integration tests; in production
the same roles run from the Procfile against real AWS.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import requests

from graphnode.settings import LOCAL_AWS_ENDPOINT

DEFAULT_PORTS = {"aws": 4566, "redis": 6379, "api": 8000}
#: gunicorn's request-line limit raised from 4094 to its maximum, so that any id a route can
#: refuse reaches the app and gets a JSON 404; past 8190 bytes gunicorn answers its own 414.
#: The same flags are in the Procfile's ``web`` line.
GUNICORN_LIMITS = ("--limit-request-line", "8190")


class StackError(RuntimeError):
    """A part of the stack did not start; the message says which and where its log is."""


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def choose_ports(preferred: dict[str, int] | None = None) -> dict[str, int]:
    """The preferred port of each part where free, otherwise any free port."""
    chosen = {}
    for name, port in (preferred or DEFAULT_PORTS).items():
        chosen[name] = port if port_is_free(port) else free_port()
    return chosen


@dataclass
class DevStack:
    workdir: Path
    ports: dict[str, int] = field(default_factory=choose_ports)
    queue_prefix: str = ""
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _logs: list[IO[bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Absolute: every process runs with the workdir as its cwd, where a relative path
        # would point somewhere else (workdir/workdir/graphnode.db).
        self.workdir = Path(self.workdir).resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        endpoint = (
            LOCAL_AWS_ENDPOINT if self.ports["aws"] == 4566
            else f"http://127.0.0.1:{self.ports['aws']}"
        )
        self.env = {
            **os.environ,
            "GRAPHNODE_AWS_ENDPOINT_URL": endpoint,
            "GRAPHNODE_REDIS_URL": f"redis://127.0.0.1:{self.ports['redis']}/0",
            "GRAPHNODE_STORE_URL": f"sqlite:///{self.workdir / 'graphnode.db'}",
            "GRAPHNODE_JWT_SECRET": secrets.token_urlsafe(32),
            "GRAPHNODE_REQUEST_QUEUE": f"{self.queue_prefix}graph-req",
            "GRAPHNODE_RESULT_QUEUE": f"{self.queue_prefix}graph-res",
            # The page (served by the API) PUTs large exports to the emulator, another origin.
            "GRAPHNODE_UPLOAD_CORS_ORIGINS": (f"http://127.0.0.1:{self.ports['api']},"
                                              f"http://localhost:{self.ports['api']}"),
            # The emulator accepts any credentials; real AWS takes them from the usual chain.
            "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
            "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
            "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
            "HF_HUB_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
        }

    @property
    def api_url(self) -> str:
        return self.url_of("api")

    def url_of(self, name: str) -> str:
        """Where an API process (``api``, or one started by ``start_api(name)``) listens."""
        return f"http://127.0.0.1:{self.ports[name]}"

    def log_path(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        log = self.log_path(name).open("ab")
        self._logs.append(log)
        self.processes[name] = subprocess.Popen(
            argv, env={**self.env, **(env or {})}, stdout=log, stderr=subprocess.STDOUT,
            cwd=self.workdir, start_new_session=True,
        )

    def metrics_env(self, name: str) -> dict[str, str]:
        """A fresh prometheus_client multi-process directory for one role instance."""
        directory = self.workdir / "metrics" / name
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        return {"PROMETHEUS_MULTIPROC_DIR": str(directory)}

    def metrics_url(self, name: str) -> str:
        """Where a worker (``worker-req``, ``worker-res``) serves its Prometheus metrics."""
        return f"http://127.0.0.1:{self.ports[f'metrics-{name}']}/metrics"

    def _wait(self, name: str, ready: object, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            process = self.processes[name]
            if process.poll() is not None:
                raise StackError(f"{name} exited with {process.returncode}; "
                                 f"see {self.log_path(name)}")
            try:
                if ready():  # type: ignore[operator]
                    return
            except (OSError, requests.RequestException):
                pass
            time.sleep(0.2)
        raise StackError(f"{name} not ready after {timeout:.0f}s; see {self.log_path(name)}")

    def start_backing_services(self) -> None:
        """The AWS emulator and Redis, then the queues, DLQs and bucket."""
        self._spawn_emulator()
        self.start_redis()
        self._wait_emulator()
        self.provision()

    def start_emulator(self) -> None:
        """The AWS emulator alone, on the stack's port; also a start after a test stopped
        it, which leaves it empty (no queues, no bucket: moto keeps them in memory)."""
        stopped = self.processes.pop("aws", None)
        if stopped is not None and stopped.poll() is None:
            stopped.kill()
            stopped.wait(10)
        self._spawn_emulator()
        self._wait_emulator()

    def _spawn_emulator(self) -> None:
        # moto otherwise answers every origin on every bucket (its own blanket CORS): off, so
        # that the bucket's CORS rule decides, as on S3, and a missing rule shows locally.
        self._spawn("aws", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                            "-p", str(self.ports["aws"])],
                    env={"MOTO_DISABLE_GLOBAL_CORS": "true"})

    def _wait_emulator(self) -> None:
        endpoint = self.env["GRAPHNODE_AWS_ENDPOINT_URL"]
        self._wait("aws", lambda: requests.get(f"{endpoint}/moto-api/", timeout=1).ok, 30)

    def start_redis(self) -> None:
        """redis-server on the stack's port, without persistence; also a restart after a stop."""
        redis_server = shutil.which("redis-server")
        if redis_server is None:
            raise StackError("redis-server not found: install it (apt-get install redis-server)")
        self._spawn("redis", [redis_server, "--port", str(self.ports["redis"]), "--bind",
                              "127.0.0.1", "--save", "", "--appendonly", "no"])
        self._wait("redis", lambda: _tcp_open(self.ports["redis"]), 15)

    def restart_redis(self) -> None:
        """Start Redis again after a test stopped it (same port, empty)."""
        stopped = self.processes.pop("redis")
        if stopped.poll() is None:
            stopped.terminate()
            stopped.wait(10)
        self.start_redis()

    def provision(self) -> None:
        subprocess.run([sys.executable, "-m", "graphnode.ops.cli", "provision"], env=self.env,
                       check=True, capture_output=True)

    def start_api(self, name: str = "api", env: dict[str, str] | None = None,
                  workers: int = 2) -> str:
        """gunicorn with gevent; its URL. Another ``name`` starts one more replica on a free
        port, with ``env`` over the stack's settings (other limits, say), sharing the rest."""
        port = self.ports.setdefault(name, free_port())
        self._spawn(name, [sys.executable, "-m", "gunicorn", "-k", "gevent", "-w", str(workers),
                           "-b", f"127.0.0.1:{port}", "--timeout", "120",
                           *GUNICORN_LIMITS, "graphnode.api:create_app()"],
                    env={**self.metrics_env(name), **(env or {})})
        url = self.url_of(name)
        self._wait(name, lambda: requests.get(f"{url}/healthz", timeout=1).ok, 30)
        return url

    def start_worker(self, queue_role: str, concurrency: int = 1, name: str | None = None,
                     prefetch_multiplier: int | None = None) -> str:
        """A Celery worker on the role's queue; its process (and log) name, ``worker-<role>``
        unless ``name`` gives another, so that several workers of one role can run."""
        queue = self.env["GRAPHNODE_REQUEST_QUEUE" if queue_role == "req" else
                         "GRAPHNODE_RESULT_QUEUE"]
        name = name or f"worker-{queue_role}"
        port = self.ports.setdefault(f"metrics-{name}", free_port())
        argv = [sys.executable, "-m", "celery", "-A", "graphnode", "worker", "-Q", queue,
                "-c", str(concurrency), "-n", f"{name}-{os.getpid()}@%h", "--loglevel", "INFO"]
        if prefetch_multiplier is not None:
            argv += ["--prefetch-multiplier", str(prefetch_multiplier)]
        self._spawn(name, argv, env={**self.metrics_env(name), "GRAPHNODE_METRICS_PORT": str(port)})
        return name

    def start_flower(self) -> str:
        """Flower on a free port, reading the events queue; its URL. Its HTTP API is open
        (FLOWER_UNAUTHENTICATED_API): this is the local stack only. One Flower per stack:
        a second call answers the running one's URL."""
        port = self.ports.setdefault("flower", free_port())
        running = self.processes.get("flower")
        if running is not None and running.poll() is None:
            return f"http://127.0.0.1:{port}"
        self._spawn("flower", [sys.executable, "-m", "celery", "-A", "graphnode", "flower",
                               f"--port={port}", "--address=127.0.0.1"],
                    env={"FLOWER_UNAUTHENTICATED_API": "true"})
        url = f"http://127.0.0.1:{port}"
        self._wait("flower", lambda: requests.get(f"{url}/healthcheck", timeout=1).ok, 60)
        return url

    def start_all(self) -> None:
        self.start_backing_services()
        self.start_worker("req", concurrency=1)
        self.start_worker("res", concurrency=2)
        self.start_api()

    def stop(self, timeout: float = 15.0) -> None:
        """Stop every process, newest first: SIGTERM, then SIGKILL after ``timeout``."""
        for name in reversed(list(self.processes)):
            process = self.processes.pop(name)
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        for log in self._logs:
            log.close()
        self._logs.clear()

    def __enter__(self) -> DevStack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _tcp_open(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
