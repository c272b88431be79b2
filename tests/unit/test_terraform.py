"""terraform/: a reusable module that reads topology.yaml and repeats none of it, two example
roots that call it, and (where terraform and an offline provider mirror exist) init, validate
and plan of both against the AWS emulator."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from graphnode.contract.topology import load_topology
from tests.support.deploy import (
    EXAMPLES,
    MODULE,
    TERRAFORM,
    emulator,
    terraform,
    terraform_env,
    terraform_unavailable,
)

OIDC_PROVIDER_ARN = ("arn:aws:iam::123456789012:oidc-provider/"
                     "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE")


def code_of(path: Path) -> str:
    """The HCL without comments or descriptions (prose may name queues)."""
    text = re.sub(r"#[^\n]*", "", path.read_text())
    return re.sub(r'description\s*=\s*"[^"\n]*"', "", text)


def blocks(kind: str, text: str) -> dict[str, str]:
    """Each top-level ``kind "name" { ... }`` block of an HCL file, by name."""
    found = {}
    for match in re.finditer(rf'^{kind} "([^"]+)" \{{\n(.*?)^\}}', text, re.M | re.S):
        found[match.group(1)] = match.group(2)
    return found


def test_the_module_decodes_the_shared_topology_from_a_path_variable():
    main = (MODULE / "main.tf").read_text()
    assert "yamldecode(file(local.topology_file))" in main
    assert ('coalesce(var.topology_file, '
            '"${path.module}/../../../graphnode/contract/topology.yaml")') in main
    assert (MODULE / "../../../graphnode/contract/topology.yaml").resolve().is_file()


def test_no_declared_name_or_queue_setting_is_repeated_in_hcl():
    topology = load_topology()
    names = {topology.bucket}
    for spec in topology.queues.values():
        names |= {spec.name, spec.dlq_name}
    code = "\n".join(code_of(path) for path in TERRAFORM.rglob("*.tf"))
    for name in names:
        assert f'"{name}"' not in code, f"{name} is hard-coded in terraform/"
    for attribute in ("visibility_timeout_seconds", "message_retention_seconds",
                      "receive_wait_time_seconds", "maxReceiveCount", "days"):
        for value in re.findall(rf"\b{attribute}\s*=\s*(\S+)", code):
            assert value.startswith(("each.value.", "local.bucket.", "rule.value")), (
                f"{attribute} = {value} is not from the YAML")


def test_the_module_has_no_provider_and_a_typed_described_interface():
    files = {path.name: path.read_text() for path in MODULE.glob("*.tf")}
    assert set(files) >= {"main.tf", "variables.tf", "outputs.tf", "versions.tf"}
    assert not any(re.search(r'^provider "', text, re.M) for text in files.values())
    variables = blocks("variable", files["variables.tf"])
    assert "topology_file" in variables
    for name, body in variables.items():
        assert re.search(r"^  type\s*=", body, re.M), f"variable {name} has no type"
        assert re.search(r'^  description\s*=\s*"\S', body, re.M), f"variable {name} undescribed"
    for name, body in blocks("output", files["outputs.tf"]).items():
        assert re.search(r'^  description\s*=\s*"\S', body, re.M), f"output {name} undescribed"


def test_the_readme_lists_every_input_and_output():
    readme = (TERRAFORM / "README.md").read_text()
    variables = blocks("variable", (MODULE / "variables.tf").read_text())
    outputs = blocks("output", (MODULE / "outputs.tf").read_text())
    missing = [name for name in [*variables, *outputs] if f"`{name}`" not in readme]
    assert not missing, f"terraform/README.md does not describe {missing}"


@pytest.mark.parametrize("example", ["local", "aws"])
def test_each_example_calls_the_module_and_commits_its_lock_file(example):
    root = EXAMPLES / example
    assert 'source = "../../modules/graphnode"' in (root / "main.tf").read_text()
    lock = (root / ".terraform.lock.hcl").read_text()
    assert 'provider "registry.terraform.io/hashicorp/aws"' in lock
    assert re.search(r'^provider "aws"', (root / "main.tf").read_text(), re.M)


################################################################################
# The terraform CLI, against the emulator
################################################################################


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    """terraform, initialised offline in both examples, and an emulator to plan against."""
    reason = terraform_unavailable()
    if reason:
        pytest.skip(f"terraform checks skipped: {reason}")
    workdir = tmp_path_factory.mktemp("terraform")
    env = terraform_env(workdir)
    for example in ("local", "aws"):
        # The committed lock file must already name the provider: -lockfile=readonly.
        terraform(example, "init", "-backend=false", "-lockfile=readonly",
                  env=env, data_dir=workdir)
    with emulator(workdir) as endpoint:
        yield {"env": env, "workdir": workdir, "endpoint": endpoint}


def plan(cli, example: str, *variables: str, check: bool = True):
    """``terraform plan`` of one example, as JSON (or the failed run when check is False)."""
    env = dict(cli["env"])
    if example == "aws":
        env["AWS_ENDPOINT_URL"] = cli["endpoint"]  # the real-account root, pointed at moto
    else:
        variables = (f"endpoint={cli['endpoint']}", *variables)
    out = cli["workdir"] / f"{example}.plan"
    args = ["plan", "-lock=false", "-refresh=false", f"-out={out}"]
    args += [f"-var={variable}" for variable in variables]
    result = terraform(example, *args, env=env, data_dir=cli["workdir"], check=check)
    if not check:
        return result
    shown = terraform(example, "show", "-json", str(out), env=env, data_dir=cli["workdir"])
    return json.loads(shown.stdout)


def planned(document) -> dict[str, dict]:
    """Planned resources by address."""
    found = {}

    def walk(module):
        for resource in module.get("resources", []):
            found[resource["address"]] = resource.get("values", {})
        for child in module.get("child_modules", []):
            walk(child)

    walk(document["planned_values"]["root_module"])
    return found


@pytest.mark.parametrize("example", ["local", "aws"])
def test_validate(cli, example):
    result = terraform(example, "validate", env=cli["env"], data_dir=cli["workdir"])
    assert "The configuration is valid" in result.stdout


def test_plan_on_the_emulator_builds_the_declared_queues_alarms_and_roles(cli):
    resources = planned(plan(cli, "local"))
    topology = load_topology()
    prefix = "module.graphnode."
    for name, spec in topology.queues.items():
        queue = resources[f'{prefix}aws_sqs_queue.this["{name}"]']
        assert queue["visibility_timeout_seconds"] == spec.visibility_timeout_seconds
        assert queue["sqs_managed_sse_enabled"] is True
        dlq_alarm = resources[f'{prefix}aws_cloudwatch_metric_alarm.dlq_not_empty["{name}"]']
        age_alarm = resources[f'{prefix}aws_cloudwatch_metric_alarm.oldest_message_age["{name}"]']
        assert dlq_alarm["dimensions"] == {"QueueName": spec.dlq_name}
        assert age_alarm["metric_name"] == "ApproximateAgeOfOldestMessage"
    # Every alarm notifies the SNS topic the module made (its ARN is known after apply).
    assert f"{prefix}aws_sns_topic.alarms[0]" in resources
    assert {f'{prefix}aws_iam_role.workload["{role}"]'
            for role in ("api", "gpu-worker", "result-worker")} <= set(resources)
    assert f"{prefix}aws_iam_role.keda[0]" in resources


def test_plan_for_an_account_trusts_the_eks_service_accounts_and_ecs_tasks(cli):
    resources = planned(plan(cli, "aws", f"eks_oidc_provider_arn={OIDC_PROVIDER_ARN}",
                             "name_prefix=acme-"))
    issuer = OIDC_PROVIDER_ARN.split("oidc-provider/")[1]
    manifests = TERRAFORM / "kubernetes"
    accounts = {doc["metadata"]["name"]
                for path in manifests.rglob("*.yaml")
                for doc in yaml.safe_load_all(path.read_text())
                if doc and doc.get("kind") == "ServiceAccount"}
    for role in ("api", "gpu-worker", "result-worker"):
        trust = json.loads(
            resources[f'module.graphnode.aws_iam_role.workload["{role}"]']["assume_role_policy"])
        by_sid = {statement["Sid"]: statement for statement in trust["Statement"]}
        subject = by_sid["EksServiceAccount"]["Condition"]["StringEquals"][f"{issuer}:sub"]
        assert subject == f"system:serviceaccount:graphnode:graphnode-{role}"
        assert f"graphnode-{role}" in accounts, "the manifests name another service account"
        assert by_sid["EcsTasks"]["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
    assert resources["module.graphnode.aws_s3_bucket.payloads"]["bucket"].startswith("acme-")


def test_plan_refuses_claim_checks_that_expire_before_a_dead_letter(cli, tmp_path):
    """Issue 6 item 10: a redriven message must still find its payload."""
    declared = yaml.safe_load(load_topology_text())
    longest = max(spec["message_retention_seconds"] + spec["dlq"]["message_retention_seconds"]
                  for spec in declared["queues"].values())
    declared["bucket"]["expiration_days"] = longest // 86400 - 1
    short = tmp_path / "topology.yaml"
    short.write_text(yaml.safe_dump(declared))
    result = plan(cli, "local", f"topology_file={short}", check=False)
    assert result.returncode != 0
    assert "is shorter than a message can live" in result.stderr


def load_topology_text() -> str:
    return (TERRAFORM.parent / "graphnode" / "contract" / "topology.yaml").read_text()
