"""A workspace's entity graph: the document graphs of one ``groupId``, merged by entity id.

The GPU worker normalises entity names into ids per document (``tasks/pipeline/
microscope/names.py``), so merging across documents is a union by id; it is cheap and pure, and
done on read so that it always reflects every document stored so far.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: Evidence quotes kept per merged relation; the rest stay in the document graphs.
MAX_EVIDENCE = 5


def merge_document_graphs(documents: Iterable[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """Merge ``(documentId, document graph)`` pairs into one workspace graph."""
    entities: dict[str, dict[str, Any]] = {}
    relations: dict[tuple[str, str, str], dict[str, Any]] = {}
    for document_id, graph in documents:
        for entity in graph.get("entities", []):
            merged = entities.setdefault(entity["id"], {
                "id": entity["id"], "name": entity["name"], "type": entity.get("type"),
                "mentions": 0, "documents": [],
            })
            merged["mentions"] += entity.get("mentions", 1)
            if document_id not in merged["documents"]:
                merged["documents"].append(document_id)
        for relation in graph.get("relations", []):
            source, target = sorted((relation["source"], relation["target"]))
            key = (source, target, relation.get("type", "related"))
            merged = relations.setdefault(key, {
                "source": source, "target": target, "type": key[2], "weight": 0,
                "documents": [], "evidence": [],
            })
            merged["weight"] += relation.get("weight", 1)
            if document_id not in merged["documents"]:
                merged["documents"].append(document_id)
            for quote in relation.get("evidence", []):
                if len(merged["evidence"]) < MAX_EVIDENCE:
                    merged["evidence"].append({**quote, "documentId": document_id})
    ranked = sorted(entities.values(), key=lambda e: (-e["mentions"], e["id"]))
    return {
        "entities": ranked,
        "relations": sorted(relations.values(), key=lambda r: (-r["weight"], r["source"])),
    }
