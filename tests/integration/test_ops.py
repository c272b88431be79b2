"""The operator's view of the running local stack: ``graphnode status``, ``/readyz``, the
Prometheus metrics of the API and both workers, and the request id on every answer."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import requests

from tests.integration.conftest import client_for, sample, wait_for, wait_for_job_end


def graphnode(stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "graphnode.ops.cli", *args], env=stack.env,
                          capture_output=True, text=True, timeout=60, check=True)


def test_status_shows_queues_workers_and_jobs(completed_job, stack):
    report = json.loads(graphnode(stack, "status", "--json").stdout)
    queues = {q["queue"]: q for q in report["queues"]}
    assert set(queues) == {"it-graph-req", "it-graph-req-dlq", "it-graph-res",
                           "it-graph-res-dlq"}
    for depth in queues.values():
        assert {"visible", "inFlight", "delayed", "oldestAgeSeconds"} <= set(depth), depth
    roles = {w["role"] for w in report["workers"]}
    assert roles == {"worker-req", "worker-res"}, report["workers"]
    assert all(w["seenSecondsAgo"] < 60 for w in report["workers"])
    generated = report["jobs"]["byType"]["GRAPH_GENERATION_REQUEST"]
    assert generated.get("COMPLETED", 0) >= 1

    text = graphnode(stack, "status").stdout
    assert "it-graph-req-dlq" in text and "worker-res" in text and "COMPLETED" in text


def test_api_metrics_count_requests_jobs_and_queues(completed_job, stack):
    requests.get(f"{stack.api_url}/healthz", timeout=5)
    text = requests.get(f"{stack.api_url}/metrics", timeout=10).text
    assert sample(text, "graphnode_jobs_accepted_total",
                  task_type="GRAPH_GENERATION_REQUEST") >= 1
    assert sample(text, "graphnode_http_requests_total", route="/healthz", status="200") >= 1
    assert sample(text, "graphnode_http_request_duration_seconds_count",
                  route="/v1/graphs/generate") >= 1
    assert sample(text, "graphnode_queue_up", queue="it-graph-res-dlq") == 1


def test_worker_metrics_count_tasks_stages_and_heartbeats(completed_job, stack):
    gpu = requests.get(stack.metrics_url("worker-req"), timeout=10).text
    assert sample(gpu, "graphnode_tasks_total", task_type="GRAPH_GENERATION_REQUEST",
                  outcome="success") >= 1
    assert sample(gpu, "graphnode_pipeline_stage_duration_seconds_count",
                  task_type="GRAPH_GENERATION_REQUEST") >= 3
    assert sample(gpu, "graphnode_visibility_heartbeats_total") >= 1
    results = requests.get(stack.metrics_url("worker-res"), timeout=10).text
    assert sample(results, "graphnode_tasks_total", task_type="GRAPH_GENERATION_RESULT",
                  outcome="success") >= 1
    assert sample(results, "graphnode_queue_messages", queue="it-graph-req",
                  state="visible") >= 0


def test_request_id_is_echoed_or_made(stack):
    given = requests.get(f"{stack.api_url}/healthz", headers={"X-Request-ID": "abc-123"},
                         timeout=5)
    assert given.headers["X-Request-ID"] == "abc-123"
    made = requests.get(f"{stack.api_url}/healthz", timeout=5).headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    lines = [json.loads(line) for line in stack.log_path("api").read_text().splitlines()
             if line.startswith("{") and '"abc-123"' in line]
    assert lines and lines[0]["status"] == 200 and lines[0]["path"] == "/healthz"


def test_readyz_names_a_stopped_redis(stack):
    ready = requests.get(f"{stack.api_url}/readyz", timeout=15)
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"store": "ok", "redis": "ok", "queue": "ok", "bucket": "ok"}
    redis_process = stack.processes["redis"]
    redis_process.terminate()
    redis_process.wait(10)
    try:
        down = requests.get(f"{stack.api_url}/readyz", timeout=15)
        assert down.status_code == 503
        assert down.json()["failing"] == ["redis"]
        assert requests.get(f"{stack.api_url}/healthz", timeout=5).status_code == 200
    finally:
        stack.restart_redis()
        wait_for(lambda: requests.get(f"{stack.api_url}/readyz", timeout=15).ok, 30,
                 "readiness after Redis is back")


def test_flower_lists_both_workers_and_a_jobs_tasks(stack, api_settings):
    flower = stack.start_flower()
    # A user of its own: a new graph for alice would replace the one other tests extend.
    operator = client_for(stack, api_settings, "flower-watcher")
    from graphnode.samples import load_sample_export

    task_id = operator.generate(load_sample_export()[:10])["taskId"]

    def tasks_of_the_job():
        tasks = requests.get(f"{flower}/api/tasks", timeout=10).json()
        mine = {celery_id: t for celery_id, t in tasks.items() if celery_id.startswith(task_id)}
        states = {(t["name"], t["state"]) for t in mine.values()}
        done = {("GRAPH_GENERATION_REQUEST", "SUCCESS"), ("GRAPH_GENERATION_RESULT", "SUCCESS")}
        return mine if done <= states else None

    tasks = wait_for(tasks_of_the_job, 150, "Flower to see the job's request and result")
    request = tasks[task_id]  # a request's Celery id is the job's taskId
    assert request["worker"].startswith("worker-req-") and request["runtime"] > 0
    assert request["args"] == repr({"taskId": task_id})  # the job, never its payload
    assert tasks[f"{task_id}-result"]["worker"].startswith("worker-res-")
    assert any(t["name"] == "GRAPH_GENERATION_PROGRESS" for t in tasks.values())
    alive = requests.get(f"{flower}/api/workers", params={"status": "true"}, timeout=10).json()
    assert sorted(name.split("-")[1] for name, up in alive.items() if up) == ["req", "res"]
    # Flower's worker list comes from inspections (at its start, on a refresh or a worker
    # page), which the workers' records answer; the plain list then shows the last one.
    def counted_the_request():  # a record is rewritten every 15 s
        refreshed = requests.get(f"{flower}/api/workers", params={"refresh": "true"},
                                 timeout=30).json()
        stats = refreshed.get(request["worker"], {}).get("stats", {})
        return refreshed if stats.get("total", {}).get("GRAPH_GENERATION_REQUEST") else None

    refreshed = wait_for(counted_the_request, 45, "the request worker's record to count it",
                         interval=2)
    listed = requests.get(f"{flower}/api/workers", timeout=10).json()
    assert sorted(listed) == sorted(refreshed) == sorted(alive)
    queues = {name.split("-")[1]: [q["name"] for q in info["active_queues"]]
              for name, info in listed.items()}
    assert queues == {"req": [stack.env["GRAPHNODE_REQUEST_QUEUE"]],
                      "res": [stack.env["GRAPHNODE_RESULT_QUEUE"]]}
    assert "GRAPH_GENERATION_RESULT" in listed[tasks[f"{task_id}-result"]["worker"]]["registered"]


def test_flower_sees_every_state_of_every_job(stack, api_settings):
    """Events leave the workers packed and batched from a thread (graphnode.runtime.event_batches):
    Flower must still see each task received, started and succeeded (SNS calls per job
    are measured by benchmarks/queue_path.py)."""
    flower = stack.start_flower()
    from graphnode.samples import load_sample_export

    users = [client_for(stack, api_settings, f"flower-counted-{n}") for n in range(4)]
    before = sample(requests.get(stack.metrics_url("worker-req"), timeout=10).text,
                    "graphnode_event_publishes_total")
    task_ids = [user.generate(load_sample_export()[:8])["taskId"] for user in users]
    for user, task_id in zip(users, task_ids, strict=True):
        assert wait_for_job_end(user, task_id, 150)["status"] == "COMPLETED"
    wanted = {celery_id for task_id in task_ids for celery_id in (task_id, f"{task_id}-result")}

    def all_states_seen():
        tasks = requests.get(f"{flower}/api/tasks", timeout=10).json()
        seen = {celery_id for celery_id, t in tasks.items() if celery_id in wanted
                and t["state"] == "SUCCESS" and t["received"] and t["started"]
                and t["succeeded"]}
        return tasks if seen == wanted else None

    tasks = wait_for(all_states_seen, 60, "Flower to see every state of the jobs' tasks")
    progress = [t for celery_id, t in tasks.items()
                if celery_id.split("-progress-")[0] in task_ids and "-progress-" in celery_id]
    assert progress and all(t["state"] == "SUCCESS" and t["started"] for t in progress)
    gpu = requests.get(stack.metrics_url("worker-req"), timeout=10).text
    assert sample(gpu, "graphnode_event_publishes_total") > before
    assert sample(gpu, "graphnode_events_dropped_total") == 0


def test_remote_control_says_where_to_look_in_one_line(stack):
    answer = subprocess.run([sys.executable, "-m", "celery", "-A", "graphnode", "inspect",
                             "ping"], env=stack.env, capture_output=True, text=True, timeout=60)
    assert answer.returncode == 69
    assert answer.stderr.strip().count("\n") == 0 and "graphnode status" in answer.stderr
