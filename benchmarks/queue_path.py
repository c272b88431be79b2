"""The queue path, measured on the local stack, beside a bare boto3 floor on the same emulator.

    .venv/bin/python benchmarks/queue_path.py [--jobs 200] [--idle-seconds 60] [--events off]

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
- with events on, a reader empties the events queue, as Flower would;
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

from graphnode.auth import mint_token  # noqa: E402
from graphnode.client import ApiClient  # noqa: E402
from graphnode.devstack import DevStack  # noqa: E402
from graphnode.samples import load_sample_export  # noqa: E402
from graphnode.settings import ApiSettings, CommonSettings  # noqa: E402
from graphnode.topology import provision  # noqa: E402

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--users", type=int, default=5)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--idle-seconds", type=float, default=60)
    parser.add_argument("--steady-jobs", type=int, default=100,
                        help="jobs offered at half the burst's rate (at most 30 s of them)")
    parser.add_argument("--events", choices=("on", "off"), default="on",
                        help="Celery events over SNS (GRAPHNODE_EVENTS_ENABLED)")
    args = parser.parse_args()
    os.environ["GRAPHNODE_EVENTS_ENABLED"] = "true" if args.events == "on" else "false"
    # The emulator accepts any credentials; this process signs its own calls with these.
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(variable, "testing")

    workdir = Path(tempfile.mkdtemp(prefix="graphnode-bench-"))
    stack = CountingStack(workdir)
    results: dict[str, Any] = {}
    try:
        print(f"starting the stack in {workdir} ...", flush=True)
        stack.start_all()
        endpoint = stack.env["GRAPHNODE_AWS_ENDPOINT_URL"]
        settings = ApiSettings(jwt_secret=stack.env["GRAPHNODE_JWT_SECRET"])
        reader = EventsReader(endpoint) if args.events == "on" else None
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

        print(f"{args.jobs} jobs through the whole path ...", flush=True)
        time.sleep(2)
        stack.counts(reset=True)
        meter = CpuMeter(stack)
        with ThreadPoolExecutor(args.clients) as pool:
            burst = list(pool.map(lambda n: submit_summary(clients[users[n % len(users)]]),
                                  range(args.jobs)))
        completions.wait([task for task, _, _ in burst], 900)
        results["CPU ms per job"] = meter.per_job_ms(args.jobs)
        path_counts = stack.counts()
        latencies = [completions.at[task] - started for task, started, _ in burst]
        span = max(completions.at[task] for task, _, _ in burst) - min(s for _, s, _ in burst)
        results["path"] = {
            "jobs/s": args.jobs / span,
            "p50": percentile(latencies, 0.5) * 1000, "p95": percentile(latencies, 0.95) * 1000,
            "p99": percentile(latencies, 0.99) * 1000,
            "calls": sqs_calls(path_counts) / args.jobs,
        }
        results["sqs calls by operation per job"] = {
            operation: sqs_calls(path_counts, operation) / args.jobs
            for operation in ("SendMessage", "ReceiveMessage", "DeleteMessage",
                              "ChangeMessageVisibility", "GetQueueAttributes")}
        results["other AWS calls per job"] = {
            service: sum(n for key, n in path_counts.items()
                         if key.startswith(prefix)) / args.jobs
            for service, prefix in (("S3", "s3 "), ("SNS Publish", "query Publish"))}
        results["api rss MB"] = api_rss_mb(stack)

        rate = results["path"]["jobs/s"] / 2
        # At most about half a minute of offered load, so that a slow path (events on the
        # emulator) still ends in minutes.
        steady_jobs = max(10, min(args.steady_jobs, round(rate * STEADY_SECONDS)))
        print(f"{steady_jobs} jobs offered at {rate:.1f}/s ...", flush=True)
        time.sleep(2)
        results["steady"] = steady_load([clients[user] for user in users], rate,
                                        steady_jobs, completions)

        print("bare boto3 floor ...", flush=True)
        body = json.dumps({"taskType": "GRAPH_SUMMARY_REQUEST", "taskId": "x" * 32,
                           "payload": {"userId": "bench-0", "graphKey": "graphs/" + "k" * 60}})
        emulator = CpuMeter(stack)
        if reader is not None:
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
    path, steady, floor = results["path"], results["steady"], results["floor"]
    print()
    print(f"{'':30}{'burst':>10}{'steady':>10}{'bare boto3':>12}{'burst/floor':>13}"
          f"{'steady/floor':>14}   target")
    for label, key, target in (("jobs/s", "jobs/s", TARGETS["jobs/s"]),
                               ("submit->completed p50 ms", "p50",
                                TARGETS["p50 submit->completed ms"]),
                               ("submit->completed p95 ms", "p95", ""),
                               ("submit->completed p99 ms", "p99", ""),
                               ("SQS calls per job", "calls", TARGETS["SQS calls per job"])):
        if key == "jobs/s":  # the steady phase offers a rate, it does not measure one
            ours, offered = f"{path[key]:>10.1f}", f"{steady['rate']:>9.1f}*"
            ratios = f"{floor[key] / path[key]:>12.1f}x{'':>14}"
        elif key == "calls":
            ours, offered = f"{path[key]:>10.1f}", f"{'':>10}"
            ratios = f"{path[key] / floor[key]:>12.1f}x{'':>14}"
        else:
            ours, offered = f"{path[key]:>10.1f}", f"{steady[key]:>10.1f}"
            ratios = f"{path[key] / floor[key]:>12.1f}x{steady[key] / floor[key]:>13.1f}x"
        print(f"{label:30}{ours}{offered}{floor[key]:>12.1f}{ratios}   {target}")
    print("(* offered: half the burst's rate; jobs/s ratio is floor / ours)")
    print()
    print("SQS calls per job, by operation: " + ", ".join(
        f"{op} {n:.2f}" for op, n in results["sqs calls by operation per job"].items()))
    print("other AWS calls per job: " + ", ".join(
        f"{service} {n:.2f}" for service, n in results["other AWS calls per job"].items()))
    print("CPU ms per job in the burst: " + ", ".join(
        f"{part} {ms:.1f}" for part, ms in results["CPU ms per job"].items())
        + f"; the floor's emulator {results['floor emulator CPU ms per job']:.1f}")
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
    print(f"({args.jobs} burst and {steady['jobs']} steady GRAPH_SUMMARY_REQUEST jobs from "
          f"{args.clients} clients over {args.users} users; events {args.events}"
          f"{', read as Flower would' if args.events == 'on' else ''}; machine: "
          f"{os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
