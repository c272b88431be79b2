"""GRAPH_GENERATION_REQUEST: a user's items in S3 to ``graph.json`` and ``features.json``."""

from __future__ import annotations

from typing import Any

from graphnode.celery_app import celery_app
from graphnode.contract import (
    Envelope,
    GraphGenerationRequest,
    GraphGenerationResult,
    JobStatus,
    TaskType,
)
from graphnode.middleware import EnvelopeTask
from tasks.context import (
    bad_input_fails_the_job,
    embedder,
    gpu_settings,
    payload_store,
    put_outputs,
    text_generator,
)


def apply_llm_labels(graph: dict[str, Any], generator: Any) -> None:
    """Let the LLM rename and describe clusters; keyword names stand where it fails."""
    from tasks.pipeline.llm import label_clusters

    clusters = graph["metadata"]["clusters"]
    titles: dict[str, list[str]] = {}
    for node in graph["nodes"]:
        titles.setdefault(node["clusterId"], []).append(node.get("title") or "")
    labels = label_clusters(generator, {
        cluster_id: {"name": meta["name"], "description": meta["description"],
                     "keywords": meta["keyThemes"], "titles": titles.get(cluster_id, [])[:5]}
        for cluster_id, meta in clusters.items()
    })
    for cluster_id, label in labels.items():
        # A label the LLM could not give keeps the keyword name and description as they are.
        if label["labelSource"] == "llm":
            clusters[cluster_id].update(label)
        else:
            clusters[cluster_id]["labelSource"] = label["labelSource"]
    for node in graph["nodes"]:
        node["clusterName"] = clusters[node["clusterId"]]["name"]


@celery_app.task(name=TaskType.GRAPH_GENERATION_REQUEST.value, base=EnvelopeTask, bind=True)
def generate_graph(self: EnvelopeTask, envelope: Envelope, request: GraphGenerationRequest) -> None:
    from tasks.pipeline.graph import build_graph
    from tasks.pipeline.parsing import item_text
    from tasks.pipeline.sources import parse_input

    settings = gpu_settings()
    report = self.progress
    with bad_input_fails_the_job():
        items = parse_input(payload_store().get_json(request.inputKey, request.inputSha256))
    report("parsed", 0.03, f"{len(items)} items")
    model = embedder().load()  # once per worker process; slow the first time, so a stage
    report("model loaded", 0.05)
    embeddings = model.encode(
        [item_text(item) for item in items],
        progress=lambda done, total: report("embedding", 0.05 + 0.55 * done / max(total, 1),
                                            f"{done}/{total} texts embedded"),
    )
    with bad_input_fails_the_job():
        graph, features = build_graph(
            items,
            embeddings,
            min_clusters=request.minClusters,
            max_clusters=request.maxClusters,
            k=settings.edge_neighbours,
            threshold=settings.edge_similarity_threshold,
            progress=lambda stage, fraction: report(stage, 0.6 + 0.3 * fraction),
            embed=model.encode if settings.node_keyword_mmr else None,
            scripts=model.readable_scripts,
        )
    generator = text_generator()
    if generator is not None:
        report("labelling", 0.92)
        apply_llm_labels(graph, generator)
    features["embeddingModel"] = settings.embedding_model

    keys = put_outputs(request.userId, envelope.taskId, {"graph": graph, "features": features})
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
