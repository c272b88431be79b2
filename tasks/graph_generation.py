"""GRAPH_GENERATION_REQUEST: a user's export in S3 to ``graph.json`` and ``features.json``."""

from __future__ import annotations

import time
from collections.abc import Callable

from graphnode.celery_app import celery_app
from graphnode.contract import (
    Envelope,
    GraphGenerationRequest,
    GraphGenerationResult,
    JobStatus,
    Progress,
    TaskType,
)
from graphnode.middleware import EnvelopeTask, JobFailed
from graphnode.payloads import PayloadError, result_key
from tasks.context import gpu_settings, payload_store

#: Progress messages are throttled: each one is an SQS send and an SSE event.
MIN_PROGRESS_INTERVAL_SECONDS = 0.5


def progress_reporter(task: EnvelopeTask, task_id: str, user_id: str) -> Callable[..., None]:
    """A ``report(stage, fraction, message=None)`` that sends GRAPH_GENERATION_PROGRESS."""
    last = {"at": 0.0, "fraction": -1.0}

    def report(stage: str, fraction: float, message: str | None = None) -> None:
        now = time.monotonic()
        if fraction <= last["fraction"]:
            return
        if now - last["at"] < MIN_PROGRESS_INTERVAL_SECONDS and fraction < 1.0:
            return
        last.update(at=now, fraction=fraction)
        payload = Progress(userId=user_id, stage=stage, progress=round(fraction, 4),
                           message=message)
        task.send(TaskType.GRAPH_GENERATION_PROGRESS, task_id, payload)

    return report


@celery_app.task(name=TaskType.GRAPH_GENERATION_REQUEST.value, base=EnvelopeTask, bind=True)
def generate_graph(self: EnvelopeTask, envelope: Envelope, request: GraphGenerationRequest) -> None:
    from tasks.pipeline.embedding import get_embedder
    from tasks.pipeline.errors import InputError
    from tasks.pipeline.graph import build_graph
    from tasks.pipeline.parsing import parse_chatgpt_export

    settings = gpu_settings()
    payloads = payload_store()
    report = progress_reporter(self, envelope.taskId, request.userId)
    report("started", 0.01)
    try:
        export = payloads.get_json(request.inputKey, request.inputSha256)
        items = parse_chatgpt_export(export)
    except (PayloadError, InputError) as exc:
        raise JobFailed(str(exc)) from exc
    report("parsed", 0.05, f"{len(items)} conversations")

    embedder = get_embedder(settings.embedding_model, settings.embedding_device)
    embeddings = embedder.encode(
        [item.text for item in items],
        progress=lambda done, total: report("embedding", 0.05 + 0.55 * done / max(total, 1),
                                            f"{done}/{total} texts embedded"),
    )
    graph, features = build_graph(
        items,
        embeddings,
        min_clusters=request.minClusters,
        max_clusters=request.maxClusters,
        k=settings.edge_neighbours,
        threshold=settings.edge_similarity_threshold,
        progress=lambda stage, fraction: report(stage, 0.6 + 0.35 * fraction),
    )
    features["embeddingModel"] = settings.embedding_model

    keys = {
        "graph": result_key(request.userId, envelope.taskId, "graph.json"),
        "features": result_key(request.userId, envelope.taskId, "features.json"),
    }
    payloads.put_json(keys["graph"], graph)
    payloads.put_json(keys["features"], features)
    stats = {
        "nodes": len(graph["nodes"]),
        "edges": len(graph["edges"]),
        "clusters": len(graph["metadata"]["clusters"]),
    }
    self.send(
        TaskType.GRAPH_GENERATION_RESULT,
        envelope.taskId,
        GraphGenerationResult(userId=request.userId, status=JobStatus.COMPLETED,
                              outputKeys=keys, stats=stats),
    )
