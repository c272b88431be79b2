"""The queue path, measured on the local stack, beside a bare boto3 floor on the same emulator.

    .venv/bin/python benchmarks/queue_path.py [--jobs 200] [--idle-seconds 60]
        [--modes events,events-kombu,no-events]

Starts the embedded stack (AWS emulator that counts calls, redis-server, the API under
gunicorn, a GPU-role worker, a result worker), gives each user a graph once, then measures
with the smallest real job, GRAPH_SUMMARY_REQUEST (keyword and statistics text, no model):

- jobs/s through the whole path (API -> graph-req -> worker -> graph-res -> handler -> store
  -> SSE) and latency submit -> `completed` event (p50, p95, p99), for a burst (every job
  submitted at once: the latency is mostly waiting in line) and for a steady offered load
  at half the burst's rate (the latency of one job through an unsaturated path);
- CPU per job of each process (emulator, API, workers, Redis), to tell ours from the
  emulator's;
- SQS calls per job, counted at the emulator;
- receives per queue per idle worker-hour, ours and with kombu's default polling settings
  (a second, idle worker with them on a queue of its own);
- the floor: a bare boto3 loop doing the same SQS sends, receives and deletes;
- each of that in one run for every mode, both workers restarted under its settings:
  events on (GraphNode's packed, batched publisher), events on with kombu's publish per
  event, events off; with events on, a reader empties the events queue, as Flower would;
- the peer: stock Celery on kombu's SQS transport (benchmarks/stock_celery.py), a task
  that does nothing, the same burst and steady load, on the same emulator;
- API submit latency alone at 1 and 20 concurrent clients, beside its floor (a bare SQS
  SendMessage from as many clients at once), and the API's RSS per worker.

Prints everything side by side at the end.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from graphnode.contract.tokens import mint_token  # noqa: E402
from graphnode.contract.topology import provision  # noqa: E402
from graphnode.ops.client import ApiClient  # noqa: E402
from graphnode.ops.devstack import DevStack  # noqa: E402
from graphnode.samples import load_sample_export  # noqa: E402
from graphnode.settings import ApiSettings, CommonSettings  # noqa: E402

TARGETS = {
    "jobs/s": ">= 20", "p50 submit->completed ms": "< 500", "SQS calls per job": "<= 12",
    "idle receives per queue-hour": "<= 200", "API RSS MB per worker": "< 150",
    "submit p50 ms @20": "< 50",
}
DEFAULT_POLLING_QUEUE = "bench-default-req"
#: The steady phase offers at most this many seconds of load.
STEADY_SECONDS = 30
#: The stack's processes (with their children) whose CPU is counted, by what they are.
STACK_PARTS = {"emulator": "aws", "API": "api", "GPU-role worker": "worker-req",
               "result worker": "worker-res", "redis": "redis"}


class CountingStack(DevStack):
    """The dev stack with the counting emulator in place of the plain moto server."""

    def start_backing_services(self) -> None:
        self._spawn("aws", [sys.executable, str(REPO / "benchmarks" / "counting_emulator.py"),
                            str(self.ports["aws"])])
        self._spawn("redis", ["redis-server", "--port", str(self.ports["redis"]), "--bind",
                              "127.0.0.1", "--save", "", "--appendonly", "no"])
        endpoint = self.env["GRAPHNODE_AWS_ENDPOINT_URL"]
        self._wait("aws", lambda: requests.get(f"{endpoint}/moto-api/", timeout=1).ok, 30)
        time.sleep(0.5)
        self.provision()

    def counts(self, reset: bool = False) -> dict[str, int]:
        endpoint = self.env["GRAPHNODE_AWS_ENDPOINT_URL"]
        if reset:
            return requests.post(f"{endpoint}/_bench/reset", timeout=5).json()
        return requests.get(f"{endpoint}/_bench/counts", timeout=5).json()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def sqs_calls(counts: dict[str, int], operation: str = "", queue: str = "") -> int:
    """SQS calls counted at the emulator; without a queue, those of the path only (the
    events reader's calls on the events queue are Flower's, not the path's)."""
    events_queue = CommonSettings().events_queue
    return sum(n for key, n in counts.items()
               if (key.split()[0] == "sqs" or (key.split()[0] == "query"
                                               and key.split()[1] in sqs_operations()))
               and operation in ("", key.split()[1])
               and (key.split()[2] == queue if queue else key.split()[2] != events_queue))


@functools.cache
def sqs_operations() -> frozenset[str]:
    """SQS's API operations: a query-protocol call is SQS's only if it names one (SNS's
    Publish, say, is not)."""
    import botocore.session

    return frozenset(botocore.session.get_session().get_service_model("sqs").operation_names)


class Completions:
    """Follows each user's SSE stream and records when each task's `completed` arrives."""

    def __init__(self, clients: dict[str, ApiClient]) -> None:
        self.at: dict[str, float] = {}
        self.lock = threading.Lock()
        for client in clients.values():
            opened = threading.Event()
            threading.Thread(target=self._follow, args=(client, opened), daemon=True).start()
            opened.wait(10)

    def _follow(self, client: ApiClient, opened: threading.Event) -> None:
        try:
            for event in client.events(read_timeout=600, on_open=opened.set):
                if event.type in ("completed", "failed"):
                    with self.lock:
                        self.at.setdefault(event.data["taskId"], time.perf_counter())
        except requests.RequestException:
            pass

    def wait(self, task_ids: list[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if all(task_id in self.at for task_id in task_ids):
                    return
            time.sleep(0.05)
        missing = [t for t in task_ids if t not in self.at]
        raise SystemExit(f"{len(missing)} jobs did not complete within {timeout:.0f}s")


def submit_summary(client: ApiClient) -> tuple[str, float, float]:
    started = time.perf_counter()
    response = client.session.post(f"{client.base_url}/v1/graphs/me/summary", json={},
                                   timeout=30)
    ended = time.perf_counter()
    if response.status_code != 202:
        raise SystemExit(f"submit answered {response.status_code}: {response.text[:200]}")
    return response.json()["taskId"], started, ended


def api_rss_mb(stack: DevStack) -> list[float]:
    """Resident memory of each gunicorn worker (children of the API's master process)."""
    master = stack.processes["api"].pid
    sizes = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines()
                          if ":" in line)
        except OSError:
            continue
        if int(fields.get("PPid", "0").strip()) == master:
            sizes.append(int(fields["VmRSS"].split()[0]) / 1024)
    return sizes


def cpu_seconds(root_pids: list[int]) -> float:
    """User and system CPU of processes and all their descendants (pool children included)."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        times[pid] = (int(fields[11]) + int(fields[12])) / tick
    total, todo = 0.0, list(root_pids)
    while todo:
        pid = todo.pop()
        total += times.get(pid, 0.0)
        todo += [child for child, parent in parents.items() if parent == pid]
    return total


class CpuMeter:
    """CPU seconds spent by each part of the stack between two readings."""

    def __init__(self, stack: DevStack) -> None:
        self.stack = stack
        self.start = self.read()

    def read(self) -> dict[str, float]:
        return {part: cpu_seconds([self.stack.processes[name].pid])
                for part, name in STACK_PARTS.items()}

    def per_job_ms(self, jobs: int) -> dict[str, float]:
        end = self.read()
        return {part: (end[part] - self.start[part]) * 1000 / jobs for part in end}


class EventsReader:
    """Reads and deletes what lands in the events queue, as Flower would: with nobody
    reading it, the queue grows, and the emulator's cost of each delivery with it (it
    looks at every message of a queue on each send; SQS does not)."""

    def __init__(self, endpoint: str) -> None:
        import boto3

        self.sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1")
        self.url = self.sqs.get_queue_url(QueueName=CommonSettings().events_queue)["QueueUrl"]
        self.read = 0
        self.running = True
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        while self.running:
            messages = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10,
                                                WaitTimeSeconds=1).get("Messages", [])
            if messages:
                self.sqs.delete_message_batch(QueueUrl=self.url, Entries=[
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
                    for n, m in enumerate(messages)])
                self.read += len(messages)


def bare_send_latency(endpoint: str, clients: int, sends: int, body: str) -> tuple[float, float]:
    """p50 and p95 ms of a bare SendMessage from ``clients`` threads at once: the floor of
    an API submit, which sends one message (and writes the store)."""
    import boto3

    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1")
    url = sqs.create_queue(QueueName=f"bench-submit-floor-{clients}")["QueueUrl"]

    def send(_: int) -> float:
        begun = time.perf_counter()
        sqs.send_message(QueueUrl=url, MessageBody=body)
        return (time.perf_counter() - begun) * 1000

    with ThreadPoolExecutor(clients) as pool:
        times = list(pool.map(send, range(sends)))
    sqs.purge_queue(QueueUrl=url)
    return percentile(times, 0.5), percentile(times, 0.95)


def steady_load(clients: list[ApiClient], rate: float, jobs: int,
                completions: Completions) -> dict[str, float]:
    """Submit ``jobs`` at ``rate`` per second (one every 1/rate s, whatever the answers), and
    measure submit -> completed of each."""
    interval = 1 / rate
    begun = time.perf_counter()

    def submit_at(n: int) -> tuple[str, float, float]:
        time.sleep(max(0.0, begun + n * interval - time.perf_counter()))
        return submit_summary(clients[n % len(clients)])

    with ThreadPoolExecutor(32) as pool:
        runs = list(pool.map(submit_at, range(jobs)))
    completions.wait([task for task, _, _ in runs], 600)
    latencies = [completions.at[task] - started for task, started, _ in runs]
    return {"rate": rate, "jobs": jobs, "p50": percentile(latencies, 0.5) * 1000,
            "p95": percentile(latencies, 0.95) * 1000, "p99": percentile(latencies, 0.99) * 1000}


def bare_boto3_floor(endpoint: str, jobs: int, body: str) -> dict[str, float]:
    """The same SQS work per job, and nothing else: send request, receive, delete, send
    result, receive, delete, in one loop."""
    import boto3

    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1")
    urls = [sqs.create_queue(QueueName=f"bench-floor-{n}")["QueueUrl"] for n in ("req", "res")]
    latencies = []
    started = time.perf_counter()
    for _ in range(jobs):
        begun = time.perf_counter()
        for url in urls:
            sqs.send_message(QueueUrl=url, MessageBody=body)
            (message,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1,
                                             WaitTimeSeconds=20)["Messages"]
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        latencies.append(time.perf_counter() - begun)
    elapsed = time.perf_counter() - started
    return {"jobs/s": jobs / elapsed, "p50": percentile(latencies, 0.5) * 1000,
            "p95": percentile(latencies, 0.95) * 1000, "p99": percentile(latencies, 0.99) * 1000,
            "calls": 6.0}


#: The workers' settings of each configuration measured; one run restarts both workers
#: under each in turn, on the same emulator, Redis, API and users.
MODES = {
    "events": {"GRAPHNODE_EVENTS_ENABLED": "true"},
    "events-kombu": {"GRAPHNODE_EVENTS_ENABLED": "true", "GRAPHNODE_EVENTS_FLUSH_SECONDS": "0"},
    "no-events": {"GRAPHNODE_EVENTS_ENABLED": "false"},
}
MODE_LABELS = {"events": "events on", "events-kombu": "kombu's events",
               "no-events": "events off"}
#: Jobs run after a restart, before the counts start: both workers are up and warm.
WARM_UP_JOBS = 5


def restart_workers(stack: DevStack, env: dict[str, str], clients: dict[str, ApiClient],
                    completions: Completions) -> None:
    for name in ("worker-req", "worker-res"):
        process = stack.processes.pop(name)
        process.terminate()
        process.wait(60)
    stack.env.update(env)
    stack.start_worker("req", concurrency=1)
    stack.start_worker("res", concurrency=2)
    users = list(clients)
    warm = [submit_summary(clients[users[n % len(users)]])[0] for n in range(WARM_UP_JOBS)]
    completions.wait(warm, 300)


def sns_calls(counts: dict[str, int]) -> int:
    return sum(n for key, n in counts.items()
               if key.split()[:2] in (["query", "Publish"], ["query", "PublishBatch"]))


def measure_path(stack: CountingStack, clients: dict[str, ApiClient],
                 completions: Completions, args: argparse.Namespace) -> dict[str, Any]:
    """A burst of ``args.jobs`` through the whole path, then a steady load at half its rate."""
    users = list(clients)
    time.sleep(2)
    stack.counts(reset=True)
    meter = CpuMeter(stack)
    with ThreadPoolExecutor(args.clients) as pool:
        burst = list(pool.map(lambda n: submit_summary(clients[users[n % len(users)]]),
                              range(args.jobs)))
    completions.wait([task for task, _, _ in burst], 900)
    cpu = meter.per_job_ms(args.jobs)
    counts = stack.counts()
    latencies = [completions.at[task] - started for task, started, _ in burst]
    span = max(completions.at[task] for task, _, _ in burst) - min(s for _, s, _ in burst)
    measured: dict[str, Any] = {
        "jobs/s": args.jobs / span,
        "burst p50": percentile(latencies, 0.5) * 1000,
        "calls": sqs_calls(counts) / args.jobs,
        "sns": sns_calls(counts) / args.jobs,
        "s3": sum(n for key, n in counts.items() if key.startswith("s3 ")) / args.jobs,
        "by operation": {operation: sqs_calls(counts, operation) / args.jobs
                         for operation in ("SendMessage", "ReceiveMessage", "DeleteMessage",
                                           "ChangeMessageVisibility", "GetQueueAttributes")},
        "cpu": cpu,
    }
    rate = measured["jobs/s"] / 2
    # At most about half a minute of offered load, so that a slow path still ends in minutes.
    steady_jobs = max(10, min(args.steady_jobs, round(rate * STEADY_SECONDS)))
    print(f"  {args.jobs} jobs in {span:.1f} s; {steady_jobs} offered at {rate:.1f}/s ...",
          flush=True)
    time.sleep(2)
    measured["steady"] = steady_load([clients[user] for user in users], rate, steady_jobs,
                                     completions)
    return measured


def stock_celery(stack: CountingStack, args: argparse.Namespace) -> dict[str, Any]:
    """The same burst and steady load on stock Celery (benchmarks/stock_celery.py): one hop,
    a task that does nothing, kombu's SQS transport with its defaults, no events."""
    import redis

    from benchmarks import stock_celery as stock

    done = redis.Redis.from_url(stack.env["GRAPHNODE_REDIS_URL"])
    stack._spawn("stock-celery", [sys.executable, "-m", "celery", "-A", "benchmarks.stock_celery",
                                  "worker", "-Q", stock.QUEUE, "-c", "1", "--loglevel",
                                  "WARNING"], env={"PYTHONPATH": str(REPO)})
    worker = stack.processes["stock-celery"]

    def run(jobs: int, interval: float) -> tuple[list[float], float]:
        done.delete(stock.DONE_KEY)
        begun = time.perf_counter()

        def send(n: int) -> None:
            time.sleep(max(0.0, begun + n * interval - time.perf_counter()))
            stock.noop.delay(time.time())

        with ThreadPoolExecutor(args.clients) as pool:
            list(pool.map(send, range(jobs)))
        deadline = time.monotonic() + 600
        while done.llen(stock.DONE_KEY) < jobs and time.monotonic() < deadline:
            if worker.poll() is not None:
                log = stack.log_path('stock-celery')
                raise SystemExit(f"stock Celery's worker exited; see {log}")
            time.sleep(0.05)
        runs = [json.loads(item) for item in done.lrange(stock.DONE_KEY, 0, -1)]
        if len(runs) < jobs:
            raise SystemExit(f"stock Celery ran {len(runs)} of {jobs} tasks in 600 s")
        span = max(ran for _, ran in runs) - min(sent for sent, _ in runs)
        return [ran - sent for sent, ran in runs], jobs / span

    run(WARM_UP_JOBS, 0)  # the worker is up and has declared its queue
    stack.counts(reset=True)
    cpu = CpuMeter(stack)
    latencies, jobs_per_second = run(args.jobs, 0)
    emulator_ms = cpu.per_job_ms(args.jobs)["emulator"]
    calls = sqs_calls(stack.counts(), queue=stock.QUEUE) / args.jobs
    rate = jobs_per_second / 2
    steady_jobs = max(10, min(args.steady_jobs, round(rate * STEADY_SECONDS)))
    steady, _ = run(steady_jobs, 1 / rate)
    return {"jobs/s": jobs_per_second, "burst p50": percentile(latencies, 0.5) * 1000,
            "calls": calls, "sns": 0.0, "cpu": {"emulator": emulator_ms},
            "steady": {"rate": rate, "jobs": steady_jobs,
                       "p50": percentile(steady, 0.5) * 1000,
                       "p95": percentile(steady, 0.95) * 1000}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--users", type=int, default=5)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--idle-seconds", type=float, default=60)
    parser.add_argument("--steady-jobs", type=int, default=100,
                        help="jobs offered at half the burst's rate (at most 30 s of them)")
    parser.add_argument("--modes", type=lambda text: text.split(","), default=list(MODES),
                        help=f"comma-separated, of: {', '.join(MODES)}")
    args = parser.parse_args()
    if unknown := set(args.modes) - set(MODES):
        parser.error(f"unknown modes {sorted(unknown)}; choose from {list(MODES)}")
    # The emulator accepts any credentials; this process signs its own calls with these.
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(variable, "testing")
    # A load test from five users: their per-user limits (10 in flight, 30 a minute) off.
    os.environ["GRAPHNODE_MAX_JOBS_IN_FLIGHT"] = "0"
    os.environ["GRAPHNODE_MAX_SUBMISSIONS_PER_MINUTE"] = "0"

    workdir = Path(tempfile.mkdtemp(prefix="graphnode-bench-"))
    stack = CountingStack(workdir)
    results: dict[str, Any] = {}
    try:
        print(f"starting the stack in {workdir} ...", flush=True)
        stack.start_all()
        endpoint = stack.env["GRAPHNODE_AWS_ENDPOINT_URL"]
        settings = ApiSettings(jwt_secret=stack.env["GRAPHNODE_JWT_SECRET"])
        reader = EventsReader(endpoint)
        results["modes"] = {}
        users = [f"bench-{n}" for n in range(args.users)]
        clients = {user: ApiClient(stack.api_url, mint_token(settings, user, 7200))
                   for user in users}

        # An idle worker with kombu's default polling (wait 10 s, poll every 1 s) beside ours.
        default_env = {**stack.env, "GRAPHNODE_REQUEST_QUEUE": DEFAULT_POLLING_QUEUE,
                       "GRAPHNODE_RESULT_QUEUE": "bench-default-res"}
        provision(CommonSettings(aws_endpoint_url=endpoint, request_queue=DEFAULT_POLLING_QUEUE,
                                 result_queue="bench-default-res",
                                 payload_bucket="bench-default-payloads"))
        default_worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "benchmarks.kombu_default_polling", "worker",
             "-Q", DEFAULT_POLLING_QUEUE, "-c", "1", "-n", "default@%h", "--loglevel", "WARNING"],
            cwd=REPO, env=default_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        print("giving each user a graph (the GPU-role worker loads the model) ...", flush=True)
        completions = Completions(clients)
        export = load_sample_export()[:8]
        first = [clients[user].generate(export, minClusters=2, maxClusters=3)["taskId"]
                 for user in users]
        completions.wait(first, 900)

        print(f"idle for {args.idle_seconds:.0f} s ...", flush=True)
        time.sleep(10)  # let the last polls of the warm-up end
        stack.counts(reset=True)
        time.sleep(args.idle_seconds)
        idle = stack.counts()
        per_hour = 3600 / args.idle_seconds
        results["idle receives/queue-hour"] = {
            "graph-req (ours)": sqs_calls(idle, "ReceiveMessage", "graph-req") * per_hour,
            "graph-res (ours)": sqs_calls(idle, "ReceiveMessage", "graph-res") * per_hour,
            "kombu defaults": sqs_calls(idle, "ReceiveMessage", DEFAULT_POLLING_QUEUE) * per_hour,
        }
        default_worker.terminate()
        default_worker.wait(30)

        print("API submit latency ...", flush=True)
        one = clients[users[0]]
        solo = [submit_summary(one) for _ in range(40)]
        meter = CpuMeter(stack)
        with ThreadPoolExecutor(args.clients) as pool:
            crowd = list(pool.map(lambda n: submit_summary(clients[users[n % len(users)]]),
                                  range(args.clients * 5)))
        results["API CPU ms per submit"] = meter.per_job_ms(len(crowd))["API"]
        completions.wait([task for task, _, _ in solo + crowd], 600)
        results["submit ms"] = {
            label: (percentile([(e - s) * 1000 for _, s, e in runs], 0.5),
                    percentile([(e - s) * 1000 for _, s, e in runs], 0.95))
            for label, runs in (("1 client", solo), (f"{args.clients} clients", crowd))}

        for mode in args.modes:
            print(f"{mode}: restarting both workers ...", flush=True)
            restart_workers(stack, MODES[mode], clients, completions)
            results["modes"][mode] = measure_path(stack, clients, completions, args)
        print("stock Celery on kombu's SQS transport ...", flush=True)
        results["stock"] = stock_celery(stack, args)
        results["api rss MB"] = api_rss_mb(stack)

        print("bare boto3 floor ...", flush=True)
        body = json.dumps({"taskType": "GRAPH_SUMMARY_REQUEST", "taskId": "x" * 32,
                           "payload": {"userId": "bench-0", "graphKey": "graphs/" + "k" * 60}})
        emulator = CpuMeter(stack)
        reader.running = False
        results["floor"] = bare_boto3_floor(endpoint, args.jobs, body)
        results["floor emulator CPU ms per job"] = emulator.per_job_ms(args.jobs)["emulator"]
        results["submit floor ms"] = {
            "1 client": bare_send_latency(endpoint, 1, 40, body),
            f"{args.clients} clients": bare_send_latency(endpoint, args.clients,
                                                         args.clients * 5, body)}
    finally:
        stack.stop()

    report(results, args)


def report(results: dict[str, Any], args: argparse.Namespace) -> None:
    modes, stock, floor = results["modes"], results["stock"], results["floor"]
    columns = {MODE_LABELS[mode]: measured for mode, measured in modes.items()}
    columns["stock Celery"] = stock
    floor_column = {"jobs/s": floor["jobs/s"], "burst p50": None, "calls": floor["calls"],
                    "sns": None, "steady": {"p50": floor["p50"], "p95": floor["p95"]},
                    "cpu": {"emulator": results["floor emulator CPU ms per job"]}}
    columns["bare boto3"] = floor_column
    rows = (
        ("jobs/s, burst", lambda m: m["jobs/s"], TARGETS["jobs/s"]),
        ("submit->completed p50 ms, steady", lambda m: m["steady"]["p50"],
         TARGETS["p50 submit->completed ms"]),
        ("submit->completed p95 ms, steady", lambda m: m["steady"]["p95"], ""),
        ("submit->completed p50 ms, burst", lambda m: m["burst p50"], "(waiting in line)"),
        ("SQS calls per job", lambda m: m["calls"], TARGETS["SQS calls per job"]),
        ("SNS calls per job", lambda m: m["sns"], "<= 2"),
        ("emulator CPU ms per job", lambda m: m["cpu"]["emulator"], ""),
        ("our CPU ms per job (API+workers)",
         lambda m: sum(m["cpu"].get(part, 0) for part in ("API", "GPU-role worker",
                                                          "result worker")) or None, ""),
    )
    print()
    print(f"{'':34}" + "".join(f"{label:>16}" for label in columns) + "   target")
    for label, value, target in rows:
        cells = []
        for measured in columns.values():
            number = value(measured)
            cells.append(f"{'-' if number is None else f'{number:.1f}':>16}")
        print(f"{label:34}" + "".join(cells) + f"   {target}")
    print("(stock Celery: one hop, a task that does nothing, kombu's SQS defaults, no events; "
          "the floor: the path's six SQS calls per job in one boto3 loop)")
    if "events" in modes:
        on = modes["events"]
        for mode, label in (("no-events", "events off"), ("events-kombu", "kombu's events")):
            if mode in modes:
                print(f"events on vs {label}: jobs/s x{on['jobs/s'] / modes[mode]['jobs/s']:.2f}, "
                      f"steady p50 x{on['steady']['p50'] / modes[mode]['steady']['p50']:.2f}")
        print(f"events on vs stock Celery: jobs/s x{on['jobs/s'] / stock['jobs/s']:.2f}, "
              f"steady p50 x{on['steady']['p50'] / stock['steady']['p50']:.2f}; vs the floor: "
              f"jobs/s x{on['jobs/s'] / floor['jobs/s']:.2f}")
    print()
    for mode, measured in modes.items():
        print(f"{MODE_LABELS[mode]}: SQS calls per job by operation " + ", ".join(
            f"{op} {n:.2f}" for op, n in measured["by operation"].items())
            + f"; S3 {measured['s3']:.2f}; CPU ms per job " + ", ".join(
                f"{part} {ms:.1f}" for part, ms in measured["cpu"].items()))
    print("idle receives per queue per worker-hour "
          f"({TARGETS['idle receives per queue-hour']}): " + ", ".join(
              f"{queue} {n:.0f}" for queue, n in results["idle receives/queue-hour"].items()))
    floor_ms = results["submit floor ms"]
    print(f"API submit latency p50/p95 ms (p50 at {args.clients}: {TARGETS['submit p50 ms @20']})"
          ", ours | bare SendMessage: " + ", ".join(
              f"{label} {p50:.1f}/{p95:.1f} | {floor_ms[label][0]:.1f}/{floor_ms[label][1]:.1f}"
              for label, (p50, p95) in results["submit ms"].items())
          + f"; API CPU {results['API CPU ms per submit']:.1f} ms per submit")
    rss = results["api rss MB"]
    print(f"API RSS per gunicorn worker MB ({TARGETS['API RSS MB per worker']}): "
          + ", ".join(f"{size:.0f}" for size in rss))
    print(f"({args.jobs} burst and up to {args.steady_jobs} steady GRAPH_SUMMARY_REQUEST jobs "
          f"per column from {args.clients} clients over {args.users} users; with events on, "
          f"a reader empties the events queue as Flower would; machine: {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
