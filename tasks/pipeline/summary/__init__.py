"""GRAPH_SUMMARY: overview, cluster insights, patterns, connections and recommendations.

Everything is computed from the stored graph alone (the ``build_graph`` shape), so a summary
needs no embeddings and no model. The text is composed from the statistics (``statistics``,
worded by ``prose``); when a ``describe`` text generator (an LLM: prompt -> text) is given, the
overview and each cluster insight are written by it from a prompt holding the same statistics,
and any part where it fails or returns nothing keeps the statistics text. Each such part says
which it got in ``generatedBy``; the top-level ``generatedBy`` is "llm" when at least one part
came from the generator.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tasks.pipeline.errors import InputError
from tasks.pipeline.summary.prose import (
    LLM,
    STATISTICS,
    Describe,
    cluster_insight,
    cluster_prompt,
    find_patterns,
    generate,
    overview_prompt,
    overview_text,
    recommend,
)
from tasks.pipeline.summary.statistics import cluster_statistics

__all__ = ["summarize_graph"]


def summarize_graph(
    graph: dict[str, Any],
    *,
    describe: Describe | None = None,
    top_n: int = 5,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The GRAPH_SUMMARY document of a stored graph.

    ``top_n`` bounds the ranked lists (connections, keywords per cluster and bridge, primary
    interests up to 3); ``now`` (default: the current time, naive means UTC) is what recency is
    measured against. Keys: ``overview``, ``clusters``, ``patterns``, ``connections``,
    ``recommendations``, ``generatedBy``.
    """
    if not isinstance(graph, dict) or not isinstance(graph.get("nodes", []), list):
        raise InputError("the stored graph is not a graph object with a 'nodes' list")
    overview, clusters, connections = cluster_statistics(graph, top_n=top_n, now=now)
    total, count = overview["totalNodes"], overview["totalClusters"]
    produced = []

    text = generate(describe, overview_prompt(overview, clusters)) if total else None
    overview["text"] = text or overview_text(overview)
    overview["generatedBy"] = LLM if text else STATISTICS
    produced.append(overview["generatedBy"])
    for cluster in clusters:
        text = generate(describe, cluster_prompt(cluster, total))
        cluster["insight"] = text or cluster_insight(cluster, total, count)
        cluster["generatedBy"] = LLM if text else STATISTICS
        produced.append(cluster["generatedBy"])
    return {
        "overview": overview,
        "clusters": clusters,
        "patterns": find_patterns(overview, clusters, connections),
        "connections": connections,
        "recommendations": recommend(overview, clusters, connections),
        "generatedBy": LLM if LLM in produced else STATISTICS,
    }
