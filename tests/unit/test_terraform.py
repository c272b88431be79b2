"""terraform/ reads the queue and bucket declaration from topology.yaml and repeats none of it.

(`terraform validate` needs the AWS provider, which CI cannot download; these checks need
nothing.)"""

import re
from pathlib import Path

from graphnode.topology import load_topology

TERRAFORM = Path(__file__).resolve().parents[2] / "terraform"


def code_of(path: Path) -> str:
    """The HCL without comments or descriptions (prose may name queues)."""
    text = re.sub(r"#[^\n]*", "", path.read_text())
    return re.sub(r'description\s*=\s*"[^"\n]*"', "", text)


def test_the_module_decodes_the_shared_topology():
    main = (TERRAFORM / "main.tf").read_text()
    assert 'yamldecode(file("${path.module}/../graphnode/topology.yaml"))' in main
    assert {p.name for p in TERRAFORM.glob("*.tf")} >= {
        "main.tf", "variables.tf", "outputs.tf", "versions.tf"}


def test_no_declared_name_or_queue_setting_is_repeated_in_hcl():
    topology = load_topology()
    names = {topology.bucket}
    for spec in topology.queues.values():
        names |= {spec.name, spec.dlq_name}
    code = "\n".join(code_of(path) for path in TERRAFORM.glob("*.tf"))
    for name in names:
        assert f'"{name}"' not in code, f"{name} is hard-coded in terraform/"
    for attribute in ("visibility_timeout_seconds", "message_retention_seconds",
                      "receive_wait_time_seconds", "maxReceiveCount"):
        for value in re.findall(rf"{attribute}\s*=\s*(\S+)", code):
            assert value.startswith("each.value."), f"{attribute} = {value} is not from the YAML"
