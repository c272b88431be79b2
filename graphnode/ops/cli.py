"""The ``graphnode`` command: provision, token, schema, stack, and the end-to-end demo."""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
    from graphnode.contract.topology import provision as provision_topology

    created = provision_topology(CommonSettings())
    click.echo(json.dumps(created, indent=2))


@main.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON document, for scripts.")
def status(as_json: bool) -> None:
    """Queues and DLQs, workers seen in the last minute, jobs by type and state; exits 1
    naming the parts that could not be read."""
    from graphnode.runtime.status import gather, render, unavailable_parts
    from graphnode.settings import ResultWorkerSettings

    settings = ResultWorkerSettings()
    report = gather(settings, settings.store_url)
    click.echo(json.dumps(report, indent=2) if as_json else render(report))
    failing = unavailable_parts(report)
    if failing:
        click.echo(f"graphnode status: unavailable: {', '.join(failing)}", err=True)
        raise SystemExit(1)


@main.command()
@click.argument("user_id")
@click.option("--ttl", default=3600, show_default=True, help="Lifetime in seconds.")
def token(user_id: str, ttl: int) -> None:
    """Mint a bearer token for USER_ID, signed with GRAPHNODE_JWT_SECRET."""
    from graphnode.contract.tokens import mint_token

    try:
        click.echo(mint_token(ApiSettings(), user_id, ttl))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


@main.command()
@click.argument("part", type=click.Choice(["all", "graph", "messages"]), default="all")
def schema(part: str) -> None:
    """Print JSON Schemas, for clients in other languages: the graph documents (what S3 holds
    and the API answers: graph, summary, assignments, document graph) and the messages."""
    from graphnode.contract.graph_model import graph_json_schemas
    from graphnode.contract.messages import json_schemas

    parts = {"graph": graph_json_schemas, "messages": json_schemas}
    chosen = parts if part == "all" else {part: parts[part]}
    document = {name: build() for name, build in chosen.items()}
    click.echo(json.dumps(document if part == "all" else document[part], indent=2))


@main.group()
def dlq() -> None:
    """Inspect and re-drive dead-letter queues."""


@dlq.command("show")
@click.argument("queue", default="graph-res")
def dlq_show(queue: str) -> None:
    """How many messages wait in QUEUE's DLQ, and what the first ten are."""
    from graphnode.ops.dlq import peek

    click.echo(json.dumps(peek(CommonSettings(), queue), indent=2))


@dlq.command("redrive")
@click.argument("queue", default="graph-res")
def dlq_redrive(queue: str) -> None:
    """Send every message of QUEUE's DLQ back to QUEUE (after fixing the cause)."""
    from graphnode.ops.dlq import redrive

    click.echo(f"moved {redrive(CommonSettings(), queue)} messages back to {queue}")


@main.command()
def stack() -> None:
    """Run the embedded default stack in the foreground until Ctrl-C."""
    from graphnode.contract.tokens import mint_token
    from graphnode.ops.devstack import DevStack

    with DevStack(Path(tempfile.mkdtemp(prefix="graphnode-"))) as dev:
        dev.start_all()
        click.echo(f"API {dev.api_url}, AWS {dev.env['GRAPHNODE_AWS_ENDPOINT_URL']}, "
                   f"logs in {dev.workdir}")
        click.echo(f"GRAPHNODE_JWT_SECRET={dev.env['GRAPHNODE_JWT_SECRET']}")
        dev_token = mint_token(ApiSettings(jwt_secret=dev.env["GRAPHNODE_JWT_SECRET"]),
                               "dev-user", ttl_seconds=12 * 3600)
        click.echo(f"open the page: {dev.api_url}/#token={dev_token}")
        click.echo(f"or the CLI: export GRAPHNODE_API_URL={dev.api_url} "
                   f"GRAPHNODE_TOKEN={dev_token}")
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            click.echo("stopping")


@main.command()
@click.option("--export", "export_path", type=click.Path(exists=True, dir_okay=False),
              help="A ChatGPT export (conversations.json); default: the bundled sample.")
@click.option("--timeout", type=float, default=None,
              help="Seconds for the whole run; default: scaled with the export's size.")
def demo(export_path: str | None, timeout: float | None) -> None:
    """Start the stack, generate a graph over HTTP, follow it over SSE, print the clusters."""
    from graphnode.contract.tokens import mint_token
    from graphnode.ops.client import ApiClient
    from graphnode.ops.devstack import DevStack, StackError
    from graphnode.samples import load_sample_export

    try:
        export = json.loads(Path(export_path).read_text()) if export_path else load_sample_export()
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise click.ClickException(f"{export_path} is not a JSON export: {exc}") from None
    timeout = timeout or demo_timeout(len(export) if isinstance(export, list) else 1)
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="graphnode-demo-"))
    dev = DevStack(workdir)
    try:
        click.echo(f"starting the local stack (logs in {workdir}) ...")
        dev.start_all()
        settings = ApiSettings(jwt_secret=dev.env["GRAPHNODE_JWT_SECRET"])
        demo_token = mint_token(settings, "demo-user", ttl_seconds=12 * 3600)
        client = ApiClient(dev.api_url, demo_token)
        click.echo(f"the page, while the demo runs: {dev.api_url}/#token={demo_token}")
        click.echo(f"stack up in {time.monotonic() - started:.1f}s; submitting "
                   f"{len(export)} conversations")
        final = follow_job(client, lambda: client.generate(export),
                           deadline=started + timeout, label="graph generation")
        if final.data.get("status") != "COMPLETED":
            raise click.ClickException(f"job failed: {final.data.get('error')}")
        _print_graph(client.my_graph())
        click.echo(f"done in {time.monotonic() - started:.1f}s")
    except (StackError, RuntimeError) as exc:  # RuntimeError: the API refused the request
        raise click.ClickException(str(exc)) from None
    except TimeoutError as exc:
        raise click.ClickException(
            f"{exc.args[0]} (gave up after {timeout:.0f}s); to wait longer: graphnode demo "
            f"--timeout {timeout * 2:.0f}{' --export ' + export_path if export_path else ''}; "
            f"logs in {workdir}") from None
    finally:
        dev.stop()


def demo_timeout(items: int) -> float:
    """Seconds the demo waits: starting the stack and loading the model, then per item."""
    return 100.0 + 1.5 * items


def follow_job(client: Any, submit: Callable[[], dict[str, Any]], deadline: float,
               label: str, quiet: bool = False) -> Any:
    """Open the SSE stream, submit, then show progress until the job's final event (polling
    the job instead if the stream fails). ``quiet`` keeps stdout for JSON."""
    from tqdm import tqdm

    from graphnode.ops.client import ServerEvent

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
    accepted = submit()
    task_id = accepted["taskId"]
    out = sys.stderr if quiet else sys.stdout
    click.echo(f"accepted: job {task_id} ({accepted['statusUrl']})", file=out)
    polling = False
    with tqdm(total=100, unit="%", desc=label, file=out) as bar:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"job {task_id} did not finish in time", task_id)
            if polling:  # the event stream failed: ask for the job every two seconds
                time.sleep(min(2.0, remaining))
                view = client.job(task_id)
                event = ServerEvent(view["status"].lower() if view["status"] in
                                    ("COMPLETED", "FAILED") else "progress", view, None)
            else:
                try:
                    event = events.get(timeout=remaining)
                except Empty:
                    continue
            if isinstance(event, Exception):
                click.echo(f"event stream lost ({event}); polling the job", file=sys.stderr)
                polling = True
                continue
            if not isinstance(event.data, dict) or event.data.get("taskId") != task_id:
                continue
            if event.type == "progress":
                bar.update(round(event.data["progress"] * 100) - bar.n)
                bar.set_postfix_str(event.data.get("stage") or "")
            elif event.type in ("completed", "failed"):
                if event.type == "completed":
                    bar.update(100 - bar.n)
                return event


def _stats_line(stats: dict[str, Any]) -> str:
    return ", ".join(f"{key} {value}" for key, value in stats.items())


def _print_graph(graph: dict[str, Any]) -> None:
    clusters = graph["metadata"]["clusters"]
    sources = Counter(node["sourceType"] for node in graph["nodes"])
    click.echo(f"\n{len(graph['nodes'])} nodes ({_stats_line(dict(sources.most_common()))}), "
               f"{len(graph['edges'])} edges, {len(clusters)} clusters:")
    for cluster_id, cluster in sorted(clusters.items(), key=lambda kv: -kv[1]["size"]):
        keywords = ", ".join(cluster.get("keyThemes", [])[:6])
        click.echo(f"  {cluster_id:<12} {cluster['size']:>3}  {cluster['name']}")
        click.echo(f"  {'':<12} {'':>3}  keywords: {keywords}")


def _print_without_text(stats: dict[str, Any]) -> None:
    if stats.get("withoutText"):
        click.echo(f"{stats['withoutText']} conversations or notes had no text (only images, "
                   "tool output or hidden messages) and gave no node")


# ----------------------------------------------------------------- a running API
#: Exit statuses of the commands that talk to a running API, for scripts.
EXIT_REFUSED, EXIT_AUTH, EXIT_UNREACHABLE, EXIT_FAILED, EXIT_TIMEOUT = 1, 3, 4, 5, 6


class ApiFailure(click.ClickException):
    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def remote_options(command: Any) -> Any:
    """--api-url, --token (GRAPHNODE_API_URL, GRAPHNODE_TOKEN), --json."""
    command = click.option("--json", "as_json", is_flag=True,
                           help="Print JSON only (progress goes to stderr).")(command)
    command = click.option("--token", envvar="GRAPHNODE_TOKEN", required=True,
                           help="Bearer token [env GRAPHNODE_TOKEN].")(command)
    return click.option("--api-url", envvar="GRAPHNODE_API_URL",
                        default="http://127.0.0.1:8000", show_default=True,
                        help="The API [env GRAPHNODE_API_URL].")(command)


def wait_options(command: Any) -> Any:
    command = click.option("--timeout", type=float, default=None,
                           help="Seconds to follow the job; default: scaled with the input.")(
        command)
    return click.option("--no-wait", is_flag=True,
                        help="Print the accepted job and return at once.")(command)


@contextmanager
def talking_to(api_url: str) -> Iterator[None]:
    """Turn what can go wrong with a running API into one line and an exit status."""
    import requests

    from graphnode.ops.client import ApiRequestError

    try:
        yield
    except ApiRequestError as exc:
        if exc.status == 401:
            raise ApiFailure(f"the API refused the token ({exc}); mint a new one "
                             "(graphnode token USER) and set GRAPHNODE_TOKEN", EXIT_AUTH) from None
        raise ApiFailure(f"refused: {exc}", EXIT_REFUSED) from None
    except requests.ConnectionError:
        raise ApiFailure(f"cannot reach the API at {api_url}: is it running? "
                         "(set GRAPHNODE_API_URL)", EXIT_UNREACHABLE) from None
    except requests.Timeout:
        raise ApiFailure(f"the API at {api_url} did not answer in time",
                         EXIT_UNREACHABLE) from None


def _client(api_url: str, token: str) -> Any:
    from graphnode.ops.client import ApiClient

    return ApiClient(api_url, token)


def _wait_seconds(timeout: float | None, path: Path | None) -> float:
    """Minutes for big exports: two minutes plus a minute per 5 MB."""
    if timeout:
        return timeout
    size = path.stat().st_size if path else 0
    return 120.0 + 60.0 * size / 5_000_000


def _run_job(client: Any, submit: Callable[[], dict[str, Any]], *, no_wait: bool,
             as_json: bool, timeout: float, label: str) -> dict[str, Any]:
    """Submit and, unless ``no_wait``, follow the job over SSE with a progress bar; the final
    job view. A FAILED job or a timeout exits non-zero."""
    if no_wait:
        accepted = submit()
        _emit(accepted, as_json, f"accepted: job {accepted['taskId']} ({accepted['statusUrl']})")
        return accepted
    try:
        event = follow_job(client, submit, deadline=time.monotonic() + timeout, label=label,
                           quiet=as_json)
    except TimeoutError as exc:
        raise ApiFailure(f"{exc.args[0]}; it goes on: graphnode job {exc.args[1]} "
                         f"(or wait longer with --timeout {timeout * 2:.0f})",
                         EXIT_TIMEOUT) from None
    job = client.job(event.data["taskId"])
    if job["status"] == "FAILED":
        if as_json:
            click.echo(json.dumps(job, indent=2, ensure_ascii=False))
        raise ApiFailure(f"job {job['taskId']} FAILED ({job.get('failure')}): {job['error']}",
                         EXIT_FAILED)
    return job


def _emit(data: Any, as_json: bool, text: str) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False) if as_json else text)


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--min-clusters", type=click.IntRange(1, 50), default=None)
@click.option("--max-clusters", type=click.IntRange(1, 50), default=None)
@wait_options
@remote_options
def submit(file: Path, min_clusters: int | None, max_clusters: int | None, no_wait: bool,
           timeout: float | None, api_url: str, token: str, as_json: bool) -> None:
    """Generate my graph from FILE on a running API and follow it.

    FILE is an export as downloaded: the zip of ChatGPT, Claude or Google Takeout (Gemini
    Apps), or the JSON file inside it; flat messages and notes as JSON too."""
    options = {k: v for k, v in (("minClusters", min_clusters),
                                 ("maxClusters", max_clusters)) if v is not None}
    client = _client(api_url, token)
    with talking_to(api_url):
        job = _run_job(client, lambda: client.generate_from_file(file, **options),
                       no_wait=no_wait, as_json=as_json, timeout=_wait_seconds(timeout, file),
                       label="graph generation")
        if no_wait:
            return
        if as_json:
            click.echo(json.dumps(job, indent=2, ensure_ascii=False))
        else:
            _print_graph(client.my_graph())
            _print_without_text(job.get("stats", {}))


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@wait_options
@remote_options
def add(file: Path, no_wait: bool, timeout: float | None, api_url: str, token: str,
        as_json: bool) -> None:
    """Add the conversations or notes of FILE to my current graph."""
    client = _client(api_url, token)
    with talking_to(api_url):
        job = _run_job(client, lambda: client.add_nodes(file), no_wait=no_wait,
                       as_json=as_json, timeout=_wait_seconds(timeout, file), label="add nodes")
        if not no_wait:
            _emit(job, as_json, f"added: {job['stats']}")


@main.command()
@wait_options
@remote_options
def summary(no_wait: bool, timeout: float | None, api_url: str, token: str,
            as_json: bool) -> None:
    """Summarise my current graph and print the summary."""
    client = _client(api_url, token)
    with talking_to(api_url):
        _run_job(client, client.request_summary, no_wait=no_wait, as_json=as_json,
                 timeout=_wait_seconds(timeout, None), label="summary")
        if not no_wait:
            result = client.summary()
            _emit(result, as_json, _summary_text(result))


def _summary_text(result: dict[str, Any]) -> str:
    lines = []
    for key, value in result.items():
        if key in ("taskId", "createdAt"):
            continue
        lines.append(f"{key}:")
        for entry in value if isinstance(value, list) else [value]:
            text = (json.dumps(entry, ensure_ascii=False) if isinstance(entry, dict | list)
                    else entry)
            lines.append(f"  {text}")
    return "\n".join(lines)


@main.group()
def workspace() -> None:
    """Microscope workspaces on a running API."""


@workspace.command("add")
@click.argument("group_id")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@wait_options
@remote_options
def workspace_add(group_id: str, file: Path, no_wait: bool, timeout: float | None,
                  api_url: str, token: str, as_json: bool) -> None:
    """Add the document FILE to workspace GROUP_ID and print the workspace's entities."""
    client = _client(api_url, token)
    with talking_to(api_url):
        _run_job(client, lambda: client.add_document(group_id, file), no_wait=no_wait,
                 as_json=as_json, timeout=_wait_seconds(timeout, file), label=file.name)
        if no_wait:
            return
        space = client.workspace(group_id)
        entities = space["graph"].get("entities", [])
        _emit(space, as_json, f"workspace {group_id}: {len(space['documents'])} documents, "
              f"{len(entities)} entities: "
              + ", ".join(e["name"] for e in entities[:15]))


@main.command()
@click.argument("task_id")
@remote_options
def job(task_id: str, api_url: str, token: str, as_json: bool) -> None:
    """Show job TASK_ID; exits 5 if it FAILED."""
    client = _client(api_url, token)
    with talking_to(api_url):
        view = client.job(task_id)
    _emit(view, as_json, f"{view['taskId']} {view['taskType']}: {view['status']} "
          f"{round(view['progress'] * 100)} % {view['stage'] or ''}"
          + (f"\nerror ({view['failure']}): {view['error']}" if view["error"] else ""))
    if view["status"] == "FAILED":
        raise SystemExit(EXIT_FAILED)


@main.command()
@click.option("--format", "fmt", type=click.Choice(["json", "graphml", "gexf"]),
              default="json", show_default=True, help="GraphML and GEXF open in Gephi.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write here instead of stdout.")
@click.option("--api-url", envvar="GRAPHNODE_API_URL", default="http://127.0.0.1:8000",
              show_default=True, help="The API [env GRAPHNODE_API_URL].")
@click.option("--token", envvar="GRAPHNODE_TOKEN", required=True,
              help="Bearer token [env GRAPHNODE_TOKEN].")
def graph(fmt: str, output: Path | None, api_url: str, token: str) -> None:
    """Download my current graph as JSON, GraphML or GEXF."""
    client = _client(api_url, token)
    with talking_to(api_url):
        document = client.my_graph()
    text = (json.dumps(document, indent=2, ensure_ascii=False) if fmt == "json"
            else graph_as(document, fmt))
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output} ({len(document['nodes'])} nodes)", err=True)
    else:
        click.echo(text)


def graph_as(document: dict[str, Any], fmt: str) -> str:
    """GraphML or GEXF through networkx; lists become comma-separated text (both formats
    hold scalars only)."""
    import io

    import networkx as nx

    def scalars(data: dict[str, Any]) -> dict[str, Any]:
        return {k: ", ".join(map(str, v)) if isinstance(v, list) else v
                for k, v in data.items() if v is not None and not isinstance(v, dict)}

    g = nx.Graph()
    clusters = document.get("metadata", {}).get("clusters", {})
    for node in document["nodes"]:
        attrs = scalars(node)
        attrs["label"] = node.get("title") or node["id"]
        cluster = clusters.get(node.get("clusterId"), {})
        if cluster.get("name"):
            attrs["clusterName"] = cluster["name"]
        g.add_node(node["id"], **attrs)
    for edge in document["edges"]:
        g.add_edge(edge["source"], edge["target"],
                   **scalars({k: v for k, v in edge.items() if k not in ("source", "target")}))
    buffer = io.BytesIO()
    (nx.write_graphml if fmt == "graphml" else nx.write_gexf)(g, buffer)
    return buffer.getvalue().decode()


if __name__ == "__main__":
    main()
