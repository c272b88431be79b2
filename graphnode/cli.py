"""The ``graphnode`` command: provision, token, schema, stack, and the end-to-end demo."""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from queue import Empty, Queue
from typing import Any

import click

from graphnode.settings import ApiSettings, CommonSettings


@click.group()
def main() -> None:
    """GraphNode: AI-chat history to a knowledge graph."""


@main.command()
def provision() -> None:
    """Create the queues, DLQs and payload bucket of topology.yaml (idempotent)."""
    from graphnode.topology import provision as provision_topology

    created = provision_topology(CommonSettings())
    click.echo(json.dumps(created, indent=2))


@main.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON document, for scripts.")
def status(as_json: bool) -> None:
    """Queues and DLQs, workers seen in the last minute, jobs by type and state."""
    from graphnode.settings import ResultWorkerSettings
    from graphnode.status import gather, render

    settings = ResultWorkerSettings()
    report = gather(settings, settings.store_url)
    click.echo(json.dumps(report, indent=2) if as_json else render(report))


@main.command()
@click.argument("user_id")
@click.option("--ttl", default=3600, show_default=True, help="Lifetime in seconds.")
def token(user_id: str, ttl: int) -> None:
    """Mint a bearer token for USER_ID, signed with GRAPHNODE_JWT_SECRET."""
    from graphnode.auth import mint_token

    try:
        click.echo(mint_token(ApiSettings(), user_id, ttl))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


@main.command()
def schema() -> None:
    """Print the JSON Schema of the message contract."""
    from graphnode.contract import json_schemas

    click.echo(json.dumps(json_schemas(), indent=2))


@main.group()
def dlq() -> None:
    """Inspect and re-drive dead-letter queues."""


@dlq.command("show")
@click.argument("queue", default="graph-res")
def dlq_show(queue: str) -> None:
    """How many messages wait in QUEUE's DLQ, and what the first ten are."""
    from graphnode.dlq import peek

    click.echo(json.dumps(peek(CommonSettings(), queue), indent=2))


@dlq.command("redrive")
@click.argument("queue", default="graph-res")
def dlq_redrive(queue: str) -> None:
    """Send every message of QUEUE's DLQ back to QUEUE (after fixing the cause)."""
    from graphnode.dlq import redrive

    click.echo(f"moved {redrive(CommonSettings(), queue)} messages back to {queue}")


@main.command()
def stack() -> None:
    """Run the embedded default stack in the foreground until Ctrl-C."""
    from graphnode.devstack import DevStack

    with DevStack(Path(tempfile.mkdtemp(prefix="graphnode-"))) as dev:
        dev.start_all()
        click.echo(f"API {dev.api_url}, AWS {dev.env['GRAPHNODE_AWS_ENDPOINT_URL']}, "
                   f"logs in {dev.workdir}")
        click.echo(f"GRAPHNODE_JWT_SECRET={dev.env['GRAPHNODE_JWT_SECRET']}")
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            click.echo("stopping")


@main.command()
@click.option("--export", "export_path", type=click.Path(exists=True, dir_okay=False),
              help="A ChatGPT export (conversations.json); default: the bundled sample.")
@click.option("--timeout", default=170.0, show_default=True, help="Seconds for the whole job.")
def demo(export_path: str | None, timeout: float) -> None:
    """Start the stack, generate a graph over HTTP, follow it over SSE, print the clusters."""
    from graphnode.auth import mint_token
    from graphnode.client import ApiClient
    from graphnode.devstack import DevStack, StackError
    from graphnode.samples import load_sample_export

    try:
        export = json.loads(Path(export_path).read_text()) if export_path else load_sample_export()
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise click.ClickException(f"{export_path} is not a JSON export: {exc}") from None
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="graphnode-demo-"))
    dev = DevStack(workdir)
    try:
        click.echo(f"starting the local stack (logs in {workdir}) ...")
        dev.start_all()
        settings = ApiSettings(jwt_secret=dev.env["GRAPHNODE_JWT_SECRET"])
        client = ApiClient(dev.api_url, mint_token(settings, "demo-user"))
        click.echo(f"stack up in {time.monotonic() - started:.1f}s; submitting "
                   f"{len(export)} conversations")
        final = _follow_job(client, export, deadline=started + timeout)
        if final.data.get("status") != "COMPLETED":
            raise click.ClickException(f"job failed: {final.data.get('error')}")
        _print_graph(client.my_graph())
        click.echo(f"done in {time.monotonic() - started:.1f}s")
    except (StackError, RuntimeError) as exc:  # RuntimeError: the API refused the request
        raise click.ClickException(str(exc)) from None
    except TimeoutError as exc:
        raise click.ClickException(f"{exc}; logs in {workdir}") from None
    finally:
        dev.stop()


def _follow_job(client: Any, export: Any, deadline: float) -> Any:
    """Submit, then show progress from the SSE stream until the job's final event."""
    from tqdm import tqdm

    events: Queue[Any] = Queue()
    connected = threading.Event()

    def listen() -> None:
        try:
            for event in client.events(read_timeout=max(deadline - time.monotonic(), 1),
                                       on_open=connected.set):
                events.put(event)
        except Exception as exc:  # surfaced to the main thread below
            events.put(exc)
        finally:
            connected.set()

    threading.Thread(target=listen, daemon=True).start()
    connected.wait(10)  # the SSE stream is open before the job can emit anything
    accepted = client.generate(export)
    task_id = accepted["taskId"]
    click.echo(f"accepted: job {task_id} ({accepted['statusUrl']})")
    with tqdm(total=100, unit="%", desc="graph generation", file=sys.stdout) as bar:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"job {task_id} did not finish in time")
            try:
                event = events.get(timeout=remaining)
            except Empty:
                continue
            if isinstance(event, Exception):
                raise event
            if not isinstance(event.data, dict) or event.data.get("taskId") != task_id:
                continue
            if event.type == "progress":
                bar.update(round(event.data["progress"] * 100) - bar.n)
                bar.set_postfix_str(event.data.get("stage") or "")
            elif event.type in ("completed", "failed"):
                if event.type == "completed":
                    bar.update(100 - bar.n)
                return event


def _print_graph(graph: dict[str, Any]) -> None:
    clusters = graph["metadata"]["clusters"]
    click.echo(f"\n{len(graph['nodes'])} nodes, {len(graph['edges'])} edges, "
               f"{len(clusters)} clusters:")
    for cluster_id, cluster in sorted(clusters.items(), key=lambda kv: -kv[1]["size"]):
        keywords = ", ".join(cluster.get("keyThemes", [])[:6])
        click.echo(f"  {cluster_id:<12} {cluster['size']:>3}  {cluster['name']}")
        click.echo(f"  {'':<12} {'':>3}  keywords: {keywords}")


if __name__ == "__main__":
    main()
