"""The vocabulary of the fault tests: a stack of their own, process faults, and counters.

Fault tests kill workers, stop Redis and break the store, so they run on a ``FaultStack``
of their own (never the session ``stack``), with short visibility timeouts so that a
message whose handler died or failed comes back within seconds. Every assertion is on a
count read from a real part: GPU runs from the workers' logs, rows from the SQLite file,
events from the SSE stream and the Redis stream, messages from the queues and DLQs.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from graphnode.contract.topology import dlq_name
from graphnode.ops.devstack import DevStack, free_port
from graphnode.ops.dlq import describe
from graphnode.settings import ApiSettings, CommonSettings
from tests.integration.conftest import GENEROUS_LIMITS, EventCollector, wait_for
from tests.support.fault_proxy import FaultProxy

#: Visibility timeout of both queues on the fault stack: a message that was received and
#: then neither deleted nor extended comes back after this long.
FAULT_VISIBILITY_SECONDS = 2
#: The heartbeat interval of the fault stack's workers (a running message is kept
#: invisible for three beats, 2 s).
HEARTBEAT_SECONDS = 0.5
#: The first delay before a failed message is received again (read by the lifecycle
#: module where it exists; the short queue visibility above covers it where not).
RETRY_BACKOFF_SECONDS = 0.5
#: How the fault stack's workers run between tests; a test that changes one restores it.
BASELINE_WORKERS = {"worker-req": ("req", 1, None), "worker-res": ("res", 2, None)}
RECEIVES_BEFORE_DLQ = 5


def new_user(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def wait_embedding(events: EventCollector, task_id: str, timeout: float = 120) -> None:
    """The GPU job is under way: its first ``embedding`` progress event arrived."""
    wait_for(lambda: any(e.type == "progress" and e.data.get("taskId") == task_id
                         and e.data.get("stage") == "embedding" for e in events.events),
             timeout, f"embedding progress of {task_id}", interval=0.05)


def tiny_export(tag: str) -> list[dict[str, Any]]:
    """Four short ChatGPT conversations, two English and two Korean, distinct per ``tag``."""
    turns = [
        ("Sourdough starter", "How often should I feed my sourdough starter?",
         "Feed it equal weights of flour and water every twelve hours at room temperature."),
        ("Marathon training", "How many long runs before a first marathon?",
         "Build up to three runs of thirty kilometres, with easy weeks in between."),
        ("김치 담그기", "배추김치를 처음 담그려면 무엇이 필요할까요?",
         "절인 배추, 고춧가루, 마늘, 생강, 젓갈을 준비하고 하루 동안 실온에서 익히세요."),
        ("서울 여행", "서울에서 사흘 동안 어디를 가면 좋을까요?",
         "경복궁과 북촌 한옥마을, 남산타워, 그리고 광장시장을 추천합니다."),
    ]
    return [_conversation(f"{tag}-{i}", title, question, answer)
            for i, (title, question, answer) in enumerate(turns)]


def _conversation(conversation_id: str, title: str, question: str,
                  answer: str) -> dict[str, Any]:
    created = 1_740_000_000 + sum(map(ord, conversation_id))

    def node(node_id: str, parent: str | None, children: list[str], role: str | None,
             text: str | None) -> dict[str, Any]:
        message = None if role is None else {
            "id": node_id, "author": {"role": role}, "create_time": created,
            "content": {"content_type": "text", "parts": [text]}}
        return {"id": node_id, "message": message, "parent": parent, "children": children}

    return {
        "id": conversation_id, "conversation_id": conversation_id, "title": title,
        "create_time": created, "update_time": created + 60, "current_node": "a",
        "mapping": {"root": node("root", None, ["q"], None, None),
                    "q": node("q", "root", ["a"], "user", question),
                    "a": node("a", "q", [], "assistant", answer)},
    }


@dataclass
class FaultStack:
    """A DevStack with handles on its processes, queues, store and event log."""

    dev: DevStack
    worker_specs: dict[str, tuple[str, int, int | None]] = field(default_factory=dict)
    #: Between every process and the emulator, when the stack was started with one.
    proxy: FaultProxy | None = None

    @classmethod
    def start(cls, workdir: Path, store_dir: Path | None = None,
              env: dict[str, str] | None = None, proxy: bool = False) -> FaultStack:
        """``store_dir``: where the SQLite store lives, if not beside the logs (a small
        file system of its own, to be filled); ``env``: settings of every process;
        ``proxy``: every process reaches the emulator through a ``FaultProxy``."""
        dev = DevStack(workdir, ports={"aws": free_port(), "redis": free_port(),
                                       "api": free_port()}, queue_prefix="ft-")
        if store_dir is not None:
            dev.env["GRAPHNODE_STORE_URL"] = f"sqlite:///{store_dir / 'graphnode.db'}"
        dev.env["GRAPHNODE_VISIBILITY_HEARTBEAT_SECONDS"] = str(HEARTBEAT_SECONDS)
        dev.env["GRAPHNODE_RETRY_BACKOFF_SECONDS"] = str(RETRY_BACKOFF_SECONDS)
        # No Celery events: the trials count jobs, not what Flower sees, and on the emulator
        # each event is a slow SNS publish (the 300-job burst takes 3 minutes without them).
        dev.env["GRAPHNODE_EVENTS_ENABLED"] = "false"
        dev.env.update(GENEROUS_LIMITS)
        dev.env.update(env or {})
        faults = cls(dev)
        if proxy:
            faults.proxy = FaultProxy(dev.env["GRAPHNODE_AWS_ENDPOINT_URL"]).start()
            dev.env["GRAPHNODE_AWS_ENDPOINT_URL"] = faults.proxy.url
        try:
            dev.start_backing_services()
            for queue in (faults.request_queue, faults.result_queue):
                faults.set_visibility(queue, FAULT_VISIBILITY_SECONDS)
            dev.start_api()
            faults.restore_baseline()
        except BaseException:
            faults.stop_all()
            raise
        return faults

    def stop_all(self) -> None:
        """The whole stack, and the proxy in front of its emulator."""
        self.dev.stop()
        if self.proxy is not None:
            self.proxy.stop()

    # --- settings and clients -------------------------------------------------------------

    @property
    def settings(self) -> CommonSettings:
        return CommonSettings(aws_endpoint_url=self.dev.env["GRAPHNODE_AWS_ENDPOINT_URL"],
                              request_queue=self.request_queue,
                              result_queue=self.result_queue)

    @property
    def request_queue(self) -> str:
        return self.dev.env["GRAPHNODE_REQUEST_QUEUE"]

    @property
    def result_queue(self) -> str:
        return self.dev.env["GRAPHNODE_RESULT_QUEUE"]

    @property
    def store_path(self) -> Path:
        return Path(self.dev.env["GRAPHNODE_STORE_URL"].removeprefix("sqlite:///"))

    def aws(self, service: str) -> Any:
        from graphnode.aws import aws_client

        return aws_client(service, self.settings)

    def client(self, user_id: str) -> Any:
        from graphnode.contract.tokens import mint_token
        from graphnode.ops.client import ApiClient

        settings = ApiSettings(jwt_secret=self.dev.env["GRAPHNODE_JWT_SECRET"])
        return ApiClient(self.dev.api_url, mint_token(settings, user_id))

    def listen(self, user_id: str, last_event_id: str | None = None) -> EventCollector:
        return EventCollector(self.client(user_id), last_event_id=last_event_id)

    def redis(self) -> Any:
        import redis

        return redis.Redis.from_url(self.dev.env["GRAPHNODE_REDIS_URL"], socket_timeout=5)

    # --- processes ----------------------------------------------------------------------

    def start_worker(self, role: str, concurrency: int = 1, name: str | None = None,
                     prefetch_multiplier: int | None = None) -> str:
        """Start a worker and wait until it consumes; its name (log: ``<name>.log``)."""
        name = name or f"worker-{role}"
        mark = self.log_size(name)
        self.dev.start_worker(role, concurrency, name=name,
                              prefetch_multiplier=prefetch_multiplier)
        self.worker_specs[name] = (role, concurrency, prefetch_multiplier)
        wait_for(lambda: self._ready_or_dead(name, mark), 90, f"{name} ready")
        return name

    def _ready_or_dead(self, name: str, mark: int) -> bool:
        if self.dev.processes[name].poll() is not None:
            raise AssertionError(f"{name} exited; see {self.dev.log_path(name)}")
        return re.search(r"\bready\.", self.log_text(name, mark)) is not None

    def pid(self, name: str) -> int:
        return self.dev.processes[name].pid

    def alive(self, name: str) -> bool:
        process = self.dev.processes.get(name)
        return process is not None and process.poll() is None

    def pool_children(self, name: str) -> list[int]:
        """The prefork pool processes of a worker (its direct children)."""
        pid = self.pid(name)
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
        return [int(child) for child in text.split()]

    def signal(self, name: str, sig: signal.Signals) -> float:
        """Send ``sig`` to a process of the stack; the monotonic time it was sent."""
        os.kill(self.pid(name), sig)
        return time.monotonic()

    def kill(self, name: str) -> float:
        """kill -9 of a process of the stack (a worker's pool dies with it: Celery sets
        PR_SET_PDEATHSIG); the monotonic time of the kill, once the process is gone."""
        killed_at = self.signal(name, signal.SIGKILL)
        self.dev.processes.pop(name).wait(30)
        self.worker_specs.pop(name, None)
        return killed_at

    def wait_exit(self, name: str, timeout: float) -> None:
        """Wait for a process that was told to stop (a warm shutdown finishing its task)."""
        self.dev.processes.pop(name).wait(timeout)
        self.worker_specs.pop(name, None)

    def stop(self, name: str, timeout: float = 120) -> None:
        """SIGTERM (a warm shutdown for a worker) and wait for the process to exit."""
        process = self.dev.processes.pop(name)
        process.terminate()
        process.wait(timeout)
        self.worker_specs.pop(name, None)

    def restore_baseline(self) -> None:
        """Redis up and the baseline workers running, whatever the last test left behind."""
        if not self.alive("redis"):
            self.dev.processes.pop("redis", None)
            self.dev.start_redis()
        for name in [n for n in self.worker_specs if n not in BASELINE_WORKERS]:
            if self.alive(name):
                self.stop(name)
            self.worker_specs.pop(name, None)
        for name, spec in BASELINE_WORKERS.items():
            if self.alive(name) and self.worker_specs.get(name) == spec:
                continue
            if self.alive(name):
                self.stop(name)
            role, concurrency, prefetch = spec
            self.start_worker(role, concurrency, name=name, prefetch_multiplier=prefetch)
        self.set_visibility(self.request_queue, FAULT_VISIBILITY_SECONDS)

    # --- logs ---------------------------------------------------------------------------

    def log_size(self, name: str) -> int:
        path = self.dev.log_path(name)
        return path.stat().st_size if path.exists() else 0

    def log_text(self, name: str, start: int = 0) -> str:
        path = self.dev.log_path(name)
        if not path.exists():
            return ""
        with path.open("rb") as log:
            log.seek(start)
            return log.read().decode(errors="replace")

    def gpu_runs(self, task_id: str, worker: str | None = None) -> int:
        """How many times a GPU worker started the job (EnvelopeTask logs each start)."""
        logs = [self.dev.log_path(worker)] if worker else self.dev.workdir.glob("worker-req*.log")
        pattern = f"running GRAPH_GENERATION_REQUEST {task_id}"
        return sum(path.read_text(errors="replace").count(pattern) for path in logs)

    def gpu_run_counts(self) -> Counter[str]:
        """GPU runs of every job, from one read of the GPU workers' logs."""
        return Counter(task_id for path in self.dev.workdir.glob("worker-req*.log")
                       for task_id in re.findall(r"running GRAPH_GENERATION_REQUEST (\w+)",
                                                 path.read_text(errors="replace")))

    def wait_gpu_runs(self, task_id: str, count: int, timeout: float = 120,
                      worker: str | None = None) -> float:
        """Wait until the job has been started ``count`` times; the monotonic time seen."""
        wait_for(lambda: self.gpu_runs(task_id, worker) >= count, timeout,
                 f"run {count} of {task_id}", interval=0.05)
        return time.monotonic()

    # --- queues -------------------------------------------------------------------------

    def queue_url(self, queue: str) -> str:
        return self.aws("sqs").get_queue_url(QueueName=queue)["QueueUrl"]

    def set_visibility(self, queue: str, seconds: int) -> None:
        self.aws("sqs").set_queue_attributes(QueueUrl=self.queue_url(queue),
                                             Attributes={"VisibilityTimeout": str(seconds)})

    def in_queue(self, queue: str) -> int:
        """Messages in a queue, received but not deleted ones included."""
        attributes = self.aws("sqs").get_queue_attributes(
            QueueUrl=self.queue_url(queue),
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                            "ApproximateNumberOfMessagesDelayed"])["Attributes"]
        return sum(int(value) for value in attributes.values())

    def wait_drained(self, queue: str, timeout: float = 120) -> None:
        """Every message of the queue handled: deleted after success, or dead-lettered."""
        wait_for(lambda: self.in_queue(queue) == 0, timeout, f"{queue} drained")

    def take_messages(self, queue: str) -> list[str]:
        """Receive and delete what waits in a queue; the raw SQS bodies, in receive order."""
        sqs, url = self.aws("sqs"), self.queue_url(queue)
        bodies = []
        while True:
            batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                        VisibilityTimeout=30, WaitTimeSeconds=0)
            if not batch.get("Messages"):
                return bodies
            for message in batch["Messages"]:
                bodies.append(message["Body"])
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def capture_until(self, queue: str, task_type: str, task_ids: set[str],
                      timeout: float = 150) -> list[str]:
        """Take messages from a queue (no worker consuming it) until one of ``task_type``
        arrived for each task id; every body taken, in order."""
        bodies: list[str] = []

        def complete() -> bool:
            bodies.extend(self.take_messages(queue))
            seen = {describe(b)["taskId"] for b in bodies if describe(b)["taskType"] == task_type}
            return task_ids <= seen

        wait_for(complete, timeout, f"{task_type} of {sorted(task_ids)}", interval=0.5)
        return bodies

    def send_raw(self, queue: str, body: str, copies: int = 1) -> None:
        """The same message body sent ``copies`` times in one batch: what SQS at-least-once
        delivery (or a redrive that crashed half way) can produce."""
        entries = [{"Id": str(i), "MessageBody": body} for i in range(copies)]
        self.aws("sqs").send_message_batch(QueueUrl=self.queue_url(queue), Entries=entries)

    def dead_letters(self, queue: str) -> list[dict[str, Any]]:
        """What waits in a queue's DLQ: taskType, taskId and ApproximateReceiveCount of each
        (as first seen here: each look is one more receive to SQS)."""
        sqs = self.aws("sqs")
        url = self.queue_url(dlq_name(queue))
        seen: dict[str, dict[str, Any]] = {}
        for _ in range(3):  # a receive may return a subset; ids de-duplicate repeats
            batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0,
                                        WaitTimeSeconds=0, AttributeNames=["All"])
            for message in batch.get("Messages", []):
                seen.setdefault(message["MessageId"], {
                    **describe(message["Body"]),
                    "receives": int(message["Attributes"]["ApproximateReceiveCount"]),
                })
        return list(seen.values())

    def empty_dlqs(self) -> None:
        """Delete what the DLQs hold (PurgeQueue is allowed once a minute only)."""
        for queue in (self.request_queue, self.result_queue):
            self.take_messages(dlq_name(queue))

    def graphnode_cli(self, *args: str) -> str:
        """Run the ``graphnode`` command against this stack, as an operator would."""
        done = subprocess.run([sys.executable, "-m", "graphnode.ops.cli", *args], env=self.dev.env,
                              capture_output=True, text=True, timeout=120, check=True)
        return done.stdout

    # --- store and events ---------------------------------------------------------------

    def store_dump(self, user_id: str) -> dict[str, list[tuple[Any, ...]]]:
        """A user's rows of the jobs and results tables, rowid included, as stored."""
        with sqlite3.connect(self.store_path) as db:
            return {table: db.execute(f"SELECT rowid, * FROM {table} WHERE user_id = ?"
                                      " ORDER BY rowid", (user_id,)).fetchall()
                    for table in ("jobs", "results")}

    def result_rows(self, task_id: str, kind: str = "graph") -> int:
        with sqlite3.connect(self.store_path) as db:
            return db.execute("SELECT count(*) FROM results WHERE task_id = ? AND kind = ?",
                              (task_id, kind)).fetchone()[0]

    @cached_property
    def store(self) -> Any:
        from graphnode.stores import open_store

        return open_store(self.dev.env["GRAPHNODE_STORE_URL"])

    def job(self, task_id: str) -> dict[str, Any]:
        job = self.store.get_job(task_id)
        assert job is not None, f"no job {task_id}"
        return json.loads(job.model_dump_json())

    def wait_final(self, task_ids: list[str], timeout: float = 180) -> dict[str, str]:
        """Wait until every job is COMPLETED or FAILED; the status of each."""
        wait_for(lambda: all(self.job(t)["status"] in ("COMPLETED", "FAILED") for t in task_ids),
                 timeout, f"jobs {task_ids} final", interval=0.5)
        return {t: self.job(t)["status"] for t in task_ids}

    def logged_events(self, user_id: str) -> list[tuple[str, str, dict[str, Any]]]:
        """The user's Redis event stream (id, type, data): what a resuming client replays."""
        from graphnode.stores.events import log_key_for

        return [(entry_id.decode(), fields[b"type"].decode(), json.loads(fields[b"data"]))
                for entry_id, fields in self.redis().xrange(log_key_for(user_id))]


def report(record_property, name: str, **figures: Any) -> None:
    """A trial's figures, in the JUnit properties and printed (``-s``) for the notes."""
    for key, value in figures.items():
        record_property(key, value)
    print(f"\nFIGURES {name}: " + ", ".join(f"{k}={v}" for k, v in figures.items()))


def count_events(events: list[Any], event_type: str, task_id: str) -> int:
    """How many SSE events of a type were seen for one job."""
    return sum(1 for e in events if e.type == event_type and e.data.get("taskId") == task_id)


def count_logged(logged: list[tuple[str, str, dict[str, Any]]], event_type: str,
                 task_id: str) -> int:
    return sum(1 for _, kind, data in logged
               if kind == event_type and data.get("taskId") == task_id)


def settle(seconds: float = 1.5) -> None:
    """Give a duplicate that would follow a first effect the time to show itself."""
    time.sleep(seconds)
