"""Exports as people download them, through the CLI of the real stack to COMPLETED graphs:
the ChatGPT zip, a Claude zip and a Google Takeout zip of Gemini Apps, each built by
``tests.support.export_shapes`` in the shapes those services write today, with every content
type they carry. Each comes back with a node per conversation that has text, of its provider;
the conversations without text are counted in the CLI's report; no hidden text reaches the
graph."""

from __future__ import annotations

import json
import re

import pytest

from graphnode.contract.tokens import mint_token
from graphnode.ops.client import ApiClient
from tests.integration.test_cli_remote import graphnode
from tests.support.export_shapes import (
    CHATGPT_PIECES,
    CLAUDE_PIECES,
    GEMINI_PIECES,
    PROVIDER_ZIPS,
    conversations_without_text,
    marker,
)

pytestmark = pytest.mark.integration

#: Conversations per export: enough that every piece appears twice or more.
CONVERSATIONS = 40
#: ``sourceType`` -> zip bytes of CONVERSATIONS conversations (also used by the page's tests).
ZIPS = {source_type: (lambda build=build: build(CONVERSATIONS))
        for source_type, build in PROVIDER_ZIPS.items()}
HIDDEN = {marker(piece) for pieces in (CHATGPT_PIECES, CLAUDE_PIECES, GEMINI_PIECES)
          for piece, kept in pieces.items() if not kept} | {marker("dalle")}


@pytest.mark.parametrize("source_type", sorted(ZIPS))
def test_the_cli_submits_each_zip_as_downloaded(stack, api_settings, tmp_path, source_type):
    path = tmp_path / f"{source_type}-export.zip"
    path.write_bytes(ZIPS[source_type]())
    token = mint_token(api_settings, f"zip-{source_type}")
    run = graphnode(stack, token, "submit", str(path))
    assert run.returncode == 0, run.stderr[-2000:]
    empty = conversations_without_text(source_type, CONVERSATIONS)
    nodes = CONVERSATIONS - empty
    assert f"{nodes} nodes ({source_type} {nodes})" in run.stdout, run.stdout
    assert (f"{empty} conversations or notes had no text" in run.stdout) is (empty > 0)
    graph = ApiClient(stack.api_url, token).my_graph()
    assert {node["sourceType"] for node in graph["nodes"]} == {source_type}
    assert len(graph["metadata"]["clusters"]) >= 3
    assert not HIDDEN & set(re.findall(r"gnmark\w+", json.dumps(graph)))
