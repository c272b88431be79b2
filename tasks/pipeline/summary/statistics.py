"""The numbers of a summary, computed from the stored graph alone (the ``build_graph`` shape):
per-cluster size, density, links, recency and trend, the overview and cross-cluster
connections. No text here: ``prose`` words these numbers, so both an LLM and the statistics
text see the same facts.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from tasks.pipeline.graph import cluster_sort_key, iso_timestamp

#: Largest clusters named as primary interests (at most ``top_n``).
PRIMARY_INTERESTS = 3
#: Most connected nodes listed per cluster.
NOTABLE = 3
UNCLUSTERED = "unclustered"


def parse_time(value: object) -> datetime | None:
    """A node timestamp (ISO string or epoch seconds/milliseconds) as an aware UTC datetime."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        value = iso_timestamp(float(value))
        if value is None:
            return None
    if not isinstance(value, str):
        return None
    try:
        stamp = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


def density(size: int, intra_edges: int) -> float:
    """Intra-cluster edges over possible pairs; 0 for a cluster of one."""
    pairs = size * (size - 1) / 2
    return round(min(1.0, intra_edges / pairs), 4) if pairs else 0.0


def most_active_month(times: Iterable[datetime]) -> dict[str, Any] | None:
    """The calendar month with the most items (ties: the most recent), with its count."""
    counts = Counter(t.strftime("%Y-%m") for t in times)
    if not counts:
        return None
    month = max(counts, key=lambda m: (counts[m], m))
    return {"month": month, "count": counts[month]}


def trend(times: Sequence[datetime], start: datetime | None, end: datetime | None) -> dict:
    """Items in the first and the last third of the graph's time span, and the direction."""
    if start is None or end is None or end <= start:
        return {"early": None, "recent": None, "direction": None}
    third = (end - start) / 3
    early = sum(t < start + third for t in times)
    recent = sum(t > end - third for t in times)
    direction = "growing" if recent > early else "fading" if recent < early else "steady"
    return {"early": early, "recent": recent, "direction": direction}


def ranked_keywords(nodes: Iterable[dict[str, Any]], top_n: int) -> list[str]:
    """The keywords most nodes carry (each node counted once per keyword; ties by word)."""
    counts = Counter(k for n in nodes for k in dict.fromkeys(_keywords(n)))
    return [k for k, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top_n]]


def bridge_keywords(
    side_a: Iterable[dict[str, Any]], side_b: Iterable[dict[str, Any]], top_n: int
) -> list[str]:
    """Keywords of the nodes at both ends of bridging edges: shared ones first (by how many
    nodes carry them), then the most frequent on either side."""
    a = Counter(k for n in side_a for k in dict.fromkeys(_keywords(n)))
    b = Counter(k for n in side_b for k in dict.fromkeys(_keywords(n)))
    both = a + b
    shared = sorted(set(a) & set(b), key=lambda k: (-both[k], k))
    rest = sorted(set(both) - set(shared), key=lambda k: (-both[k], k))
    return (shared + rest)[:top_n]


def _keywords(node: dict[str, Any]) -> list[str]:
    words = node.get("keywords") or []
    return [str(w).strip().lower() for w in words if str(w).strip()]


def _graph_parts(graph: dict[str, Any]) -> tuple[list[dict], list[dict], dict[str, dict]]:
    nodes = [n for n in graph.get("nodes") or [] if isinstance(n, dict) and "id" in n]
    known = {n["id"] for n in nodes}
    edges = [
        e for e in graph.get("edges") or []
        if isinstance(e, dict) and e.get("source") in known and e.get("target") in known
        and e.get("source") != e.get("target")
    ]
    meta = (graph.get("metadata") or {}).get("clusters") or {}
    return nodes, edges, meta


def _weight(edge: dict[str, Any]) -> float:
    try:
        weight = float(edge.get("weight", 1.0))
    except (TypeError, ValueError):
        return 0.0
    return weight if math.isfinite(weight) else 0.0


@dataclass
class _EdgeTally:
    """What the edges say about each node and cluster, counted in one pass."""

    degree: Counter[str] = field(default_factory=Counter)
    intra: Counter[str] = field(default_factory=Counter)
    cross_count: Counter[str] = field(default_factory=Counter)
    cross_weight: Counter[str] = field(default_factory=Counter)
    # (lower cluster, higher cluster) -> its edges, each oriented from the lower one.
    bridges: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)

    @cached_property
    def total_cross(self) -> float:
        return sum(_weight(e) for group in self.bridges.values() for e in group)


def _tally_edges(edges: list[dict[str, Any]], cluster_of: dict[str, str]) -> _EdgeTally:
    tally = _EdgeTally()
    for e in edges:
        s, t, w = e["source"], e["target"], _weight(e)
        tally.degree[s] += w
        tally.degree[t] += w
        cs, ct = cluster_of[s], cluster_of[t]
        if cs == ct:
            tally.intra[cs] += 1
            continue
        for c in (cs, ct):
            tally.cross_count[c] += 1
            tally.cross_weight[c] += w
        oriented = e
        if cluster_sort_key(ct) < cluster_sort_key(cs):  # source end in the lower-id cluster
            oriented = {**e, "source": t, "target": s}
            cs, ct = ct, cs
        tally.bridges.setdefault((cs, ct), []).append(oriented)
    return tally


def cluster_statistics(
    graph: dict[str, Any], *, top_n: int = 5, now: datetime | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """``(overview, clusters, connections)`` without any text, for the summary and its tests."""
    now = now or datetime.now(tz=UTC)
    now = now.replace(tzinfo=UTC) if now.tzinfo is None else now
    nodes, edges, meta = _graph_parts(graph)
    cluster_of = {n["id"]: str(n.get("clusterId") or UNCLUSTERED) for n in nodes}
    time_of = {n["id"]: parse_time(n.get("timestamp")) for n in nodes}
    times = [t for t in time_of.values() if t is not None]
    span = (min(times), max(times)) if times else (None, None)
    members: dict[str, list[dict[str, Any]]] = {}
    for n in nodes:
        members.setdefault(cluster_of[n["id"]], []).append(n)
    tally = _tally_edges(edges, cluster_of)

    clusters = [
        _cluster_entry(cid, members[cid], meta.get(cid) or {}, tally, time_of, span, now,
                       total_nodes=len(nodes), top_n=top_n)
        for cid in sorted(members, key=lambda c: (-len(members[c]), cluster_sort_key(c)))
    ]
    names = {c["clusterId"]: c["name"] for c in clusters}
    connections = sorted(
        (_connection_entry(a, b, group, members, names, top_n)
         for (a, b), group in tally.bridges.items()),
        key=lambda c: (-c["strength"], -c["edgeCount"],
                       cluster_sort_key(c["source"]), cluster_sort_key(c["target"])),
    )
    start, end = span
    overview = {
        "totalNodes": len(nodes),
        "totalEdges": len(edges),
        "totalClusters": len(clusters),
        "timeSpan": {
            "start": start.isoformat() if start else None,
            "end": end.isoformat() if end else None,
        },
        "primaryInterests": [c["name"] for c in clusters[: min(PRIMARY_INTERESTS, top_n)]],
        "mostActivePeriod": most_active_month(times),
    }
    return overview, clusters, connections[:top_n]


def _cluster_entry(
    cid: str, group: list[dict[str, Any]], stored: dict[str, Any], tally: _EdgeTally,
    time_of: dict[str, datetime | None], span: tuple[datetime | None, datetime | None],
    now: datetime, *, total_nodes: int, top_n: int,
) -> dict[str, Any]:
    """One cluster's figures: size, density, how central and bridging it is, its recency."""
    size = len(group)
    stamps = [t for t in (time_of[n["id"]] for n in group) if t is not None]
    newest = max(stamps) if stamps else None
    themes = stored.get("keyThemes") or ranked_keywords(group, top_n)
    order = sorted(range(size), key=lambda i: (-tally.degree[group[i]["id"]], i))
    total_cross = tally.total_cross
    return {
        "clusterId": cid,
        "name": str(stored.get("name") or group[0].get("clusterName") or cid),
        "size": size,
        "share": round(size / total_nodes, 4),
        "density": density(size, tally.intra[cid]),
        "intraEdges": tally.intra[cid],
        "crossEdges": tally.cross_count[cid],
        "centrality": round(sum(tally.degree[n["id"]] for n in group) / size, 4),
        "bridgeShare": round(tally.cross_weight[cid] / total_cross, 4) if total_cross else 0.0,
        "recency": {
            "newest": newest.isoformat() if newest else None,
            "daysSince": round((now - newest).total_seconds() / 86400, 1) if newest else None,
        },
        "trend": trend(stamps, *span),
        "keywords": [str(k) for k in themes][:top_n],
        "notableConversations": [
            {
                "id": group[i]["id"],
                "title": group[i].get("title") or group[i]["id"],
                "weightedDegree": round(tally.degree[group[i]["id"]], 4),
            }
            for i in order[:NOTABLE]
        ],
    }


def _connection_entry(
    a: str, b: str, group: list[dict[str, Any]], members: dict[str, list[dict[str, Any]]],
    names: dict[str, str], top_n: int,
) -> dict[str, Any]:
    """The edges between two clusters as one connection, with the words its ends share."""
    ends_a = {e["source"] for e in group}
    ends_b = {e["target"] for e in group}
    return {
        "source": a,
        "sourceName": names[a],
        "target": b,
        "targetName": names[b],
        "strength": round(sum(_weight(e) for e in group), 4),
        "edgeCount": len(group),
        "bridgeKeywords": bridge_keywords(
            [n for n in members[a] if n["id"] in ends_a],
            [n for n in members[b] if n["id"] in ends_b],
            top_n,
        ),
    }
