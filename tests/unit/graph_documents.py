"""Small documents that follow ``graphnode.contract.graph_model``, for tests of what stores them."""

from __future__ import annotations

import itertools
from typing import Any


def graph(node_ids: tuple[str, ...] = ("a", "b")) -> dict[str, Any]:
    """A one-cluster graph of ``node_ids``, each linked to the next."""
    nodes = [{"id": n, "origId": n, "clusterId": "cluster-0", "clusterName": "Bread / Flour",
              "keywords": ["bread"], "timestamp": "2025-01-02T03:04:05+00:00",
              "numSections": 2, "sourceType": "chat", "title": f"Title {n}", "confidence": 0.9}
             for n in node_ids]
    edges = [{"source": s, "target": t, "weight": 0.8, "type": "semantic",
              "isIntraCluster": True, "confidence": "high"}
             for s, t in itertools.pairwise(node_ids)]
    return {
        "nodes": nodes,
        "edges": edges,
        "subclusters": [{"id": "cluster-0-sub-0", "clusterId": "cluster-0",
                         "nodeIds": list(node_ids), "representativeNodeId": node_ids[0],
                         "topKeywords": ["bread"]}],
        "metadata": {"clusters": {"cluster-0": {"name": "Bread / Flour",
                                                "description": "Items about bread.",
                                                "size": len(nodes), "keyThemes": ["bread"]}},
                     "totalNodes": len(nodes), "totalEdges": len(edges),
                     "createdAt": "2025-01-02T03:04:05+00:00"},
    }


def assignments() -> list[dict[str, Any]]:
    return [{"nodeId": "n", "origId": "n", "clusterId": "cluster-0",
             "clusterName": "Bread / Flour", "confidence": 0.7, "similarity": 0.6,
             "reason": "similarity 0.60 to centroid of 'Bread / Flour'", "newCluster": False}]


def document_graph(document_id: str = "d1") -> dict[str, Any]:
    return {
        "entities": [{"id": "marie curie", "name": "Marie Curie", "type": "name",
                      "mentions": 2, "chunkIds": ["chunk-0"]}],
        "relations": [],
        "chunks": [{"id": "chunk-0", "start": 0, "end": 40}],
        "extraction": {"method": "key-phrase", "chunkCount": 1},
        "document": {"documentId": document_id, "fileName": "curie.md"},
    }
