"""The CLI against the running local stack: a job followed to the end, the graph as GEXF and
GraphML, and each failure a script must tell apart by its exit status."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from graphnode.contract.tokens import mint_token
from graphnode.samples import load_sample_export

pytestmark = pytest.mark.integration


def graphnode(stack, token, *args, timeout=300):
    env = {**stack.env, "GRAPHNODE_API_URL": stack.api_url, "GRAPHNODE_TOKEN": token}
    return subprocess.run([sys.executable, "-m", "graphnode.ops.cli", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_submit_follows_the_job_and_graph_exports_for_gephi(stack, api_settings, tmp_path):
    token = mint_token(api_settings, "cli-user")
    export = tmp_path / "conversations.json"
    export.write_text(json.dumps(load_sample_export()))
    run = graphnode(stack, token, "submit", str(export), "--json")
    assert run.returncode == 0, run.stderr[-2000:]
    job = json.loads(run.stdout)
    assert job["status"] == "COMPLETED" and "100%" in run.stderr  # tqdm's bar on stderr
    for fmt, tag in (("gexf", "{http://www.gexf.net/1.2draft}node"),
                     ("graphml", "{http://graphml.graphdrawing.org/xmlns}node")):
        out = tmp_path / f"graph.{fmt}"
        run = graphnode(stack, token, "graph", "--format", fmt, "-o", str(out))
        assert run.returncode == 0, run.stderr
        assert len(list(ET.parse(out).iter(tag))) == len(load_sample_export())
    shown = graphnode(stack, token, "job", job["taskId"])
    assert shown.returncode == 0 and "COMPLETED 100 %" in shown.stdout


def test_exit_statuses_tell_failures_apart(stack, api_settings, tmp_path):
    token = mint_token(api_settings, "cli-errors")
    refused = tmp_path / "refused.json"
    refused.write_text("[1, 2]")
    run = graphnode(stack, token, "submit", str(refused))
    assert run.returncode == 1 and "invalid_export" not in run.stdout
    assert "item 0: expected a conversation object" in run.stderr

    expired = mint_token(api_settings, "cli-errors", ttl_seconds=-10)
    run = graphnode(stack, expired, "job", "abc")
    assert run.returncode == 3 and "token expired" in run.stderr

    run = subprocess.run([sys.executable, "-m", "graphnode.ops.cli", "summary"],
                         env={**stack.env, "GRAPHNODE_API_URL": "http://127.0.0.1:9",
                              "GRAPHNODE_TOKEN": token}, capture_output=True, text=True)
    assert run.returncode == 4 and "cannot reach the API at http://127.0.0.1:9" in run.stderr

    unrecognised = tmp_path / "users.json"  # a file of the export zip, not the export
    unrecognised.write_text(json.dumps([{"uuid": "u1", "email_address": "a@example.com"}]))
    run = graphnode(stack, token, "submit", str(unrecognised))
    assert run.returncode == 1 and "unrecognised export" in run.stderr
    assert "Claude" in run.stderr and "Gemini" in run.stderr

    unparseable = tmp_path / "unparseable.json"  # the right shape, a broken conversation
    unparseable.write_text(json.dumps([{"title": "x", "mapping": "not a tree"}]))
    run = graphnode(stack, token, "submit", str(unparseable))
    assert run.returncode == 5, run.stderr[-2000:]
    assert "FAILED (input)" in run.stderr
    task_id = run.stdout.split("accepted: job ")[1].split()[0]
    shown = graphnode(stack, token, "job", task_id)
    assert shown.returncode == 5 and "error (input)" in shown.stdout
