"""What each request task runs, from decoded input to output documents and result stats.

The task modules (``tasks/*.py``) stay adapters: they read the request's payloads from S3,
call one function here with the worker's models and settings, store the documents this
returns and send the result. Keeping the glue here lets it be tested without a queue, S3 or
Celery, and keeps the task modules free of the pipeline's imports (torch, faiss) until a task
runs. Each job checks its documents against ``graphnode.contract.graph_model`` once, before they
are stored: a graph the browser could not draw fails here, where it was made.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from graphnode.contract.graph_model import (
    Assignments,
    DocumentGraph,
    GraphDocument,
    SummaryDocument,
    check_document,
)
from graphnode.settings import GpuWorkerSettings
from tasks.pipeline.errors import InputError
from tasks.pipeline.keywords import tokens_memoized
from tasks.pipeline.llm import TextGenerator, label_clusters

#: ``(stage, fraction done, detail)``: the task's progress reporter.
Report = Callable[[str, float, str | None], None]


@dataclass(frozen=True)
class JobOutput:
    """The documents a job stores (``<name>.json`` each) and the stats its result carries."""

    documents: dict[str, Any]
    stats: dict[str, int]


def embedding_progress(report: Report, *, start: float, span: float) -> Callable[[int, int], None]:
    """The encoder's ``progress(done, total)`` as the job's "embedding" stage, which takes
    its share ``span`` of the job from ``start`` on."""
    return lambda done, total: report("embedding", start + span * done / max(total, 1),
                                      f"{done}/{total} texts embedded")


def apply_llm_labels(graph: dict[str, Any], generator: TextGenerator) -> None:
    """Let the LLM rename and describe clusters; keyword names stand where it fails."""
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


def entries_without_text(data: object, items: list[Any]) -> int:
    """Conversations and notes that gave no item (only images, tool traffic or hidden text):
    counted in the job's stats so that they do not vanish without a word."""
    from tasks.pipeline.sources import entry_count

    entries = entry_count(data)
    return 0 if entries is None else max(entries - len(items), 0)


def generate_graph(
    data: object,
    *,
    embedder: Any,
    generator: TextGenerator | None,
    settings: GpuWorkerSettings,
    min_clusters: int,
    max_clusters: int,
    report: Report,
) -> JobOutput:
    """GRAPH_GENERATION: items to ``graph`` and ``features`` (embeddings, lexicon)."""
    from tasks.pipeline.graph import build_graph
    from tasks.pipeline.parsing import item_text
    from tasks.pipeline.sources import parse_input

    items = parse_input(data)
    without_text = entries_without_text(data, items)
    report("parsed", 0.03, f"{len(items)} items, {without_text} without text"
           if without_text else f"{len(items)} items")
    model = embedder.load()  # once per worker process; slow the first time, so a stage
    report("model loaded", 0.05, None)
    embeddings = model.encode(
        [item_text(item) for item in items],
        progress=embedding_progress(report, start=0.05, span=0.55),
    )
    graph, features = build_graph(
        items,
        embeddings,
        min_clusters=min_clusters,
        max_clusters=max_clusters,
        k=settings.edge_neighbours,
        threshold=settings.edge_similarity_threshold,
        max_cluster_share=settings.max_cluster_share,
        progress=lambda stage, fraction: report(stage, 0.6 + 0.3 * fraction, None),
        embed=model.encode_terms if settings.node_keyword_mmr else None,
        scripts=model.readable_scripts,
    )
    if generator is not None:
        report("labelling", 0.92, None)
        apply_llm_labels(graph, generator)
    features["embeddingModel"] = settings.embedding_model
    check_document(GraphDocument, graph, "graph")
    return JobOutput(
        {"graph": graph, "features": features},
        {"nodes": len(graph["nodes"]), "edges": len(graph["edges"]),
         "clusters": len(graph["metadata"]["clusters"]), "withoutText": without_text},
    )


def embeddings_in_node_order(graph: dict[str, Any], features: dict[str, Any]) -> np.ndarray:
    """The stored embeddings, one row per graph node, in the graph's node order."""
    by_id = {node["id"]: node["embedding"] for node in features["nodes"]}
    missing = [node["id"] for node in graph["nodes"] if node["id"] not in by_id]
    if missing:
        raise InputError(f"features lack embeddings for nodes {missing[:3]}: regenerate the graph")
    return np.asarray([by_id[node["id"]] for node in graph["nodes"]], dtype=np.float32)


@tokens_memoized()  # the new texts are read by project() and by add_nodes
def add_nodes(
    graph: dict[str, Any],
    features: dict[str, Any],
    data: object,
    *,
    embedder: Any,
    settings: GpuWorkerSettings,
    report: Report,
) -> JobOutput:
    """ADD_NODE: new items joined to a stored graph; ``graph``, ``features``, ``assignments``."""
    from tasks.pipeline.add_node import ALREADY_IN_GRAPH
    from tasks.pipeline.add_node import add_nodes as add_to_graph
    from tasks.pipeline.lexical import Lexicon, project
    from tasks.pipeline.parsing import item_text
    from tasks.pipeline.sources import parse_input

    items = parse_input(data)
    without_text = entries_without_text(data, items)
    report("parsed", 0.1, f"{len(items)} items")
    existing = embeddings_in_node_order(graph, features)
    texts = [item_text(item) for item in items]
    dense = embedder.encode(
        texts,
        progress=embedding_progress(report, start=0.1, span=0.6))
    # Into the stored graph's space: its node vectors are [dense, lexical] when it has a lexicon.
    lexicon = Lexicon.from_json(features["lexicon"]) if features.get("lexicon") else None
    new = project(texts, dense, embedder.readable_scripts, lexicon)
    report("joining", 0.75, None)
    graph, vectors, assignments = add_to_graph(
        graph, existing, items, new,
        join_threshold=settings.add_node_join_threshold,
        k=settings.edge_neighbours,
        edge_threshold=settings.edge_similarity_threshold,
    )
    features["nodes"] = [
        {"id": node["id"], "embedding": row}
        for node, row in zip(graph["nodes"], np.round(vectors.astype(np.float64), 6).tolist(),
                             strict=True)
    ]
    check_document(GraphDocument, graph, "graph")
    check_document(Assignments, assignments, "assignments")
    added = [a for a in assignments if a["reason"] != ALREADY_IN_GRAPH]
    return JobOutput(
        {"graph": graph, "features": features, "assignments": assignments},
        {"added": len(added), "skipped": len(assignments) - len(added),
         "newClusters": len({a["clusterId"] for a in added if a["newCluster"]}),
         "nodes": len(graph["nodes"]), "withoutText": without_text},
    )


def summarize_graph(
    graph: dict[str, Any], *, generator: TextGenerator | None, report: Report
) -> JobOutput:
    """GRAPH_SUMMARY: a stored graph to its ``summary``."""
    from tasks.pipeline.summary import summarize_graph as summarize

    report("summarizing", 0.2, f"{len(graph.get('nodes', []))} nodes")
    summary = summarize(graph, describe=generator.generate if generator else None)
    check_document(SummaryDocument, summary, "summary")
    overview = summary["overview"]
    return JobOutput({"summary": summary},
                     {"clusters": overview["totalClusters"], "nodes": overview["totalNodes"]})


def ingest_document(
    raw: bytes,
    *,
    file_name: str,
    document_id: str,
    generator: TextGenerator | None,
    settings: GpuWorkerSettings,
    report: Report,
) -> JobOutput:
    """MICROSCOPE_INGEST: a document's bytes to its entity ``graph``, within the limits."""
    from tasks.pipeline.microscope import chunk_document, extract_graph
    from tasks.pipeline.sources import extract_document_text

    report("extracting text", 0.05, None)
    text = extract_document_text(raw, file_name,
                                 max_chars=settings.max_document_chars,
                                 max_expanded_bytes=settings.max_document_expanded_bytes)
    chunks = chunk_document(text, max_chunks=settings.max_document_chunks)
    report("extracting entities", 0.2, f"{len(chunks)} chunks")
    graph = extract_graph(chunks, generator=generator, max_entities=settings.max_document_entities)
    report("storing", 0.95, None)
    graph["document"] = {"documentId": document_id, "fileName": file_name}
    check_document(DocumentGraph, graph, "document graph")
    return JobOutput({"graph": graph},
                     {"chunks": len(chunks), "entities": len(graph["entities"]),
                      "relations": len(graph["relations"])})
