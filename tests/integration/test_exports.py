"""Exports as people download them (a ChatGPT zip, a Claude export, a Google Takeout of
Gemini Apps), through the CLI and the API of the real stack, to COMPLETED graphs whose
nodes are the conversations the parser reads and carry their provider."""

from __future__ import annotations

import json

import pytest

from graphnode.auth import mint_token
from graphnode.client import ApiClient
from tasks.pipeline.sources import parse_input
from tests.integration.conftest import wait_for_job_end
from tests.integration.test_cli_remote import graphnode
from tests.support import exports

pytestmark = pytest.mark.integration

#: Conversations per generated export: enough for several planted topics, a short job.
CONVERSATIONS = 30

ZIPS = {"chatgpt": exports.chatgpt_zip, "claude": exports.claude_zip,
        "gemini": exports.gemini_zip}
BARE = {"chatgpt": exports.chatgpt_conversations, "claude": exports.claude_conversations,
        "gemini": exports.gemini_activity}


def check_graph(client: ApiClient, data: object, provider: str) -> dict:
    """The user's graph has a node per conversation the parser keeps, each of ``provider``."""
    graph = client.my_graph()
    job = client.job(graph["taskId"])
    assert job["status"] == "COMPLETED", job
    expected = parse_input(data)
    assert sorted(node["id"] for node in graph["nodes"]) == sorted(i.id for i in expected.items)
    assert {node["sourceType"] for node in graph["nodes"]} == {provider}
    assert job["stats"]["conversations"] == expected.conversations
    return graph


@pytest.mark.parametrize("provider", sorted(ZIPS))
def test_the_cli_submits_each_zip_as_downloaded(stack, api_settings, tmp_path, provider):
    path = tmp_path / f"{provider}-export.zip"
    path.write_bytes(ZIPS[provider](CONVERSATIONS))
    user = f"zip-{provider}"
    run = graphnode(stack, mint_token(api_settings, user), "submit", str(path))
    assert run.returncode == 0, run.stderr[-2000:]
    assert f"nodes ({provider} " in run.stdout, run.stdout
    client = ApiClient(stack.api_url, mint_token(api_settings, user))
    data = json.loads(exports.conversations_file(ZIPS[provider](CONVERSATIONS)))
    check_graph(client, data, provider)


@pytest.mark.parametrize("provider", sorted(BARE))
def test_the_api_takes_each_bare_export(stack, api_settings, provider):
    client = ApiClient(stack.api_url, mint_token(api_settings, f"bare-{provider}"))
    data = BARE[provider](CONVERSATIONS, seed=1)
    accepted = client.generate(data)
    assert wait_for_job_end(client, accepted["taskId"], 180)["status"] == "COMPLETED"
    check_graph(client, data, provider)


def test_a_zip_over_the_presign_threshold_goes_through_s3(stack, api_settings, tmp_path):
    path = tmp_path / "chatgpt-export.zip"
    path.write_bytes(exports.chatgpt_zip(CONVERSATIONS, seed=2))
    client = ApiClient(stack.api_url, mint_token(api_settings, "zip-presigned"))
    accepted = client.generate_from_file(path, presign_above=0)
    assert wait_for_job_end(client, accepted["taskId"], 180)["status"] == "COMPLETED"
    check_graph(client, json.loads(exports.conversations_file(path.read_bytes())), "chatgpt")
