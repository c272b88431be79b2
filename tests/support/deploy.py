"""What the deployment tests share: the terraform CLI with an offline provider mirror, and an
AWS emulator (moto server, with the SQS attribute it lacks) on a free port."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from shutil import which

import requests

from graphnode.ops.devstack import free_port

REPO = Path(__file__).resolve().parents[2]
TERRAFORM = REPO / "terraform"
MODULE = TERRAFORM / "modules" / "graphnode"
EXAMPLES = TERRAFORM / "examples"

#: Where an offline copy of the providers may live (terraform's own implied mirror folders,
#: and the one this project's build image has). GRAPHNODE_TF_PROVIDER_MIRROR names another.
MIRROR_CANDIDATES = (
    "/opt/tf-plugins",
    "~/.terraform.d/plugins",
    "~/.local/share/terraform/plugins",
    "/usr/local/share/terraform/plugins",
    "/usr/share/terraform/plugins",
)
AWS_PROVIDER = Path("registry.terraform.io/hashicorp/aws")


def provider_mirror() -> Path | None:
    """A local folder holding the AWS provider, in terraform's filesystem-mirror layout."""
    named = os.environ.get("GRAPHNODE_TF_PROVIDER_MIRROR")
    for candidate in ([named] if named else []) + list(MIRROR_CANDIDATES):
        path = Path(candidate).expanduser()
        if (path / AWS_PROVIDER).is_dir():
            return path
    return None


def terraform_unavailable() -> str | None:
    """Why terraform cannot run here, or None when it can."""
    if which("terraform") is None:
        return "terraform is not installed"
    if provider_mirror() is None:
        return ("no offline copy of the hashicorp/aws provider (looked in "
                f"{', '.join(MIRROR_CANDIDATES)}; set GRAPHNODE_TF_PROVIDER_MIRROR)")
    return None


def terraform_env(workdir: Path) -> dict[str, str]:
    """An environment in which terraform installs providers from the mirror only, keeps its
    working data outside the repository and never asks or phones home."""
    config = workdir / "terraform.rc"
    config.write_text(
        "provider_installation {\n"
        f'  filesystem_mirror {{\n    path = "{provider_mirror()}"\n'
        '    include = ["registry.terraform.io/*/*"]\n  }\n'
        '  direct {\n    exclude = ["registry.terraform.io/*/*"]\n  }\n}\n'
    )
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("TF_", "AWS_"))}
    env.update({
        "TF_CLI_CONFIG_FILE": str(config),
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
        "CHECKPOINT_DISABLE": "1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
    })
    return env


def terraform(example: str, *args: str, env: dict[str, str], data_dir: Path,
              check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run terraform in one examples/ root; its .terraform folder goes to data_dir."""
    result = subprocess.run(
        ["terraform", f"-chdir={EXAMPLES / example}", *args, "-no-color"],
        env={**env, "TF_DATA_DIR": str(data_dir / example)},
        capture_output=True, text=True, timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"terraform {' '.join(args)} in examples/{example} failed:\n"
                             f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


@contextmanager
def emulator(log_dir: Path) -> Iterator[str]:
    """A moto server on a free port (with SQS's RedriveAllowPolicy); yields its endpoint."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with (log_dir / "emulator.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.moto_sqs_redrive_allow",
             "-H", "127.0.0.1", "-p", str(port)],
            cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if requests.get(f"{endpoint}/moto-api/", timeout=1).ok:
                        break
                except requests.RequestException:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the emulator did not start; see {log.name}")
                time.sleep(0.2)
            yield endpoint
        finally:
            process.terminate()
            process.wait(timeout=10)
