"""GRAPH_SUMMARY: overview, cluster insights, patterns, connections and recommendations.

Everything is computed from the stored graph alone (the ``build_graph`` shape), so a summary
needs no embeddings and no model. The text is composed from the statistics; when a ``describe``
text generator (an LLM: prompt -> text) is given, the overview and each cluster insight are
written by it from a prompt holding the same statistics, and any part where it fails or returns
nothing keeps the statistics text. Each such part says which it got in ``generatedBy``; the
top-level ``generatedBy`` is "llm" when at least one part came from the generator.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from tasks.pipeline.errors import InputError
from tasks.pipeline.graph import cluster_sort_key, iso_timestamp
from tasks.pipeline.phrases import words_phrase

log = logging.getLogger(__name__)

Describe = Callable[[str], str]

#: Largest clusters named as primary interests (at most ``top_n``).
PRIMARY_INTERESTS = 3
#: Most connected nodes listed per cluster.
NOTABLE = 3
#: A cluster without a new item for this many days is worth revisiting.
STALE_DAYS = 30
MIN_RECOMMENDATIONS, MAX_RECOMMENDATIONS = 3, 5
UNCLUSTERED = "unclustered"
STATISTICS, LLM = "statistics", "llm"


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


def names_phrase(names: Sequence[str]) -> str:
    """``'A'``, ``'A' and 'B'``, ``'A', 'B' and 'C'``."""
    quoted = [f"'{n}'" for n in names]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} and {quoted[-1]}"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def days_ago(days: float) -> str:
    return "within the last day" if days < 1 else f"{plural(int(days), 'day')} ago"


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


def generate(describe: Describe | None, prompt: str) -> str | None:
    """The generator's text for ``prompt``; ``None`` when absent, failing or empty."""
    if describe is None:
        return None
    try:
        text = describe(prompt)
    except Exception:  # any generator failure falls back to the statistics text
        log.warning("summary: text generator failed, using statistics text", exc_info=True)
        return None
    return text.strip() if isinstance(text, str) and text.strip() else None


# --- statistics -----------------------------------------------------------------------------


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
    start, end = (min(times), max(times)) if times else (None, None)

    members: dict[str, list[dict[str, Any]]] = {}
    for n in nodes:
        members.setdefault(cluster_of[n["id"]], []).append(n)
    degree: Counter[str] = Counter()
    intra: Counter[str] = Counter()
    cross_count: Counter[str] = Counter()
    cross_weight: Counter[str] = Counter()
    bridges: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for e in edges:
        s, t, w = e["source"], e["target"], _weight(e)
        degree[s] += w
        degree[t] += w
        cs, ct = cluster_of[s], cluster_of[t]
        if cs == ct:
            intra[cs] += 1
            continue
        for c in (cs, ct):
            cross_count[c] += 1
            cross_weight[c] += w
        oriented = e
        if cluster_sort_key(ct) < cluster_sort_key(cs):  # source end in the lower-id cluster
            oriented = {**e, "source": t, "target": s}
            cs, ct = ct, cs
        bridges.setdefault((cs, ct), []).append(oriented)
    total_cross = sum(_weight(e) for group in bridges.values() for e in group)

    def name(cid: str) -> str:
        stored = (meta.get(cid) or {}).get("name")
        return str(stored or members[cid][0].get("clusterName") or cid)

    clusters = []
    for cid in sorted(members, key=lambda c: (-len(members[c]), cluster_sort_key(c))):
        group = members[cid]
        size = len(group)
        stamps = [time_of[n["id"]] for n in group if time_of[n["id"]] is not None]
        newest = max(stamps) if stamps else None
        themes = (meta.get(cid) or {}).get("keyThemes") or ranked_keywords(group, top_n)
        order = sorted(range(size), key=lambda i: (-degree[group[i]["id"]], i))
        clusters.append({
            "clusterId": cid,
            "name": name(cid),
            "size": size,
            "share": round(size / len(nodes), 4),
            "density": density(size, intra[cid]),
            "intraEdges": intra[cid],
            "crossEdges": cross_count[cid],
            "centrality": round(sum(degree[n["id"]] for n in group) / size, 4),
            "bridgeShare": round(cross_weight[cid] / total_cross, 4) if total_cross else 0.0,
            "recency": {
                "newest": newest.isoformat() if newest else None,
                "daysSince": round((now - newest).total_seconds() / 86400, 1) if newest else None,
            },
            "trend": trend(stamps, start, end),
            "keywords": [str(k) for k in themes][:top_n],
            "notableConversations": [
                {
                    "id": group[i]["id"],
                    "title": group[i].get("title") or group[i]["id"],
                    "weightedDegree": round(degree[group[i]["id"]], 4),
                }
                for i in order[:NOTABLE]
            ],
        })

    names = {c["clusterId"]: c["name"] for c in clusters}
    connections = []
    for (a, b), group in bridges.items():
        ends_a = {e["source"] for e in group}
        ends_b = {e["target"] for e in group}
        connections.append({
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
        })
    connections.sort(key=lambda c: (-c["strength"], -c["edgeCount"],
                                    cluster_sort_key(c["source"]), cluster_sort_key(c["target"])))

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


# --- text -----------------------------------------------------------------------------------


def overview_text(overview: dict[str, Any]) -> str:
    """Two sentences about the whole graph, from its statistics."""
    n = overview["totalNodes"]
    if n == 0:
        return "The graph is empty: there are no items to summarise yet."
    span = overview["timeSpan"]
    when = ""
    if span["start"]:
        when = f", from {span['start'][:10]} to {span['end'][:10]}"
    first = (f"{plural(n, 'item')} in {plural(overview['totalClusters'], 'topic')}, linked by "
             f"{plural(overview['totalEdges'], 'connection')}{when}.")
    interests = overview["primaryInterests"]
    label = "main interest is" if len(interests) == 1 else "main interests are"
    second = f"The {label} {names_phrase(interests)}"
    active = overview["mostActivePeriod"]
    if active:
        second += f"; {active['month']} was the busiest month ({plural(active['count'], 'item')})"
    return f"{first} {second}."


def cluster_insight(cluster: dict[str, Any], total_nodes: int, total_clusters: int) -> str:
    """One sentence about a cluster: size, cohesion, links, recency and trend."""
    themes = f" ({words_phrase(cluster['keywords'][:3])})" if cluster["keywords"] else ""
    head = (f"'{cluster['name']}'{themes} holds {cluster['size']} of {total_nodes} items "
            f"({cluster['share']:.0%})")
    if cluster["size"] == 1:
        body = "it is a single item"
    else:
        d = cluster["density"]
        knit = "tightly knit" if d >= 0.3 else "moderately connected" if d >= 0.1 else "loose"
        body = f"it is {knit} (density {d:.2f})"
    if total_clusters > 1:
        links = cluster["crossEdges"]
        body += " with no links to other topics" if not links else (
            f" with {plural(links, 'link')} to other topics"
        )
    days = cluster["recency"]["daysSince"]
    if days is not None:
        body += f", last active {days_ago(days)}"
    if cluster["trend"]["direction"] in ("growing", "fading"):
        body += f" and {cluster['trend']['direction']}"
    return f"{head}; {body}."


def overview_prompt(overview: dict[str, Any], clusters: Sequence[dict[str, Any]]) -> str:
    """What the generator gets for the overview: the statistics, one per line."""
    lines = [
        "Write a short overview (two or three sentences) of a person's knowledge graph built "
        "from their AI chat history. Use only these statistics:",
        f"- items: {overview['totalNodes']}, links: {overview['totalEdges']}, "
        f"topics: {overview['totalClusters']}",
        f"- time span: {overview['timeSpan']['start']} to {overview['timeSpan']['end']}",
        f"- largest topics: {', '.join(overview['primaryInterests'])}",
    ]
    if overview["mostActivePeriod"]:
        active = overview["mostActivePeriod"]
        lines.append(f"- busiest month: {active['month']} ({active['count']} items)")
    for c in clusters[:MAX_RECOMMENDATIONS]:
        lines.append(f"- topic '{c['name']}': {c['size']} items, keywords "
                     f"{', '.join(c['keywords'][:5])}")
    return "\n".join(lines)


def cluster_prompt(cluster: dict[str, Any], total_nodes: int) -> str:
    """What the generator gets for one cluster's insight."""
    titles = ", ".join(f"\u201c{n['title']}\u201d" for n in cluster["notableConversations"])
    recency = cluster["recency"]["daysSince"]
    return "\n".join([
        "Write one sentence of insight about this topic in a person's AI chat history. "
        "Use only these statistics:",
        f"- topic: {cluster['name']}",
        f"- keywords: {', '.join(cluster['keywords'])}",
        f"- items: {cluster['size']} of {total_nodes} ({cluster['share']:.0%})",
        f"- internal density: {cluster['density']:.2f}; links to other topics: "
        f"{cluster['crossEdges']}",
        f"- days since the last item: {recency if recency is not None else 'unknown'}",
        f"- trend: {cluster['trend']['direction'] or 'unknown'}",
        f"- most connected conversations: {titles}",
    ])


def find_patterns(
    overview: dict[str, Any], clusters: Sequence[dict[str, Any]],
    connections: Sequence[dict[str, Any]],
) -> list[str]:
    """A few sentences on structure and change over time."""
    if not clusters:
        return []
    out: list[str] = []
    many = len(clusters) > 1
    largest = clusters[0]
    if not many:
        out.append(f"All {plural(largest['size'], 'item')} form a single topic, "
                   f"'{largest['name']}'.")
    elif largest["share"] >= 0.5:
        out.append(f"'{largest['name']}' dominates, with {largest['share']:.0%} of all items.")
    growing = [c for c in clusters if c["trend"]["direction"] == "growing"]
    if growing:
        one = len(growing) == 1
        out.append(f"{names_phrase([c['name'] for c in growing])} {'is' if one else 'are'} "
                   f"growing: more of {'its' if one else 'their'} items fall in the last third "
                   "of the time span than in the first.")
    fading = [c for c in clusters if c["trend"]["direction"] == "fading"]
    if fading:
        one = len(fading) == 1
        out.append(f"{names_phrase([c['name'] for c in fading])} {'has' if one else 'have'} "
                   "gone quieter: fewer items in the last third of the time span than in the "
                   "first.")
    if overview["timeSpan"]["start"] is None:
        out.append("No item has a timestamp, so changes over time are unknown.")
    knit = [c for c in clusters if c["size"] >= 2 and c["density"] > 0]
    if many and knit:
        best = max(knit, key=lambda c: (c["density"], c["size"]))
        out.append(f"'{best['name']}' is the most tightly knit topic (density "
                   f"{best['density']:.2f}).")
    isolated = [c for c in clusters if c["crossEdges"] == 0]
    if many and len(isolated) == len(clusters):
        out.append("No topic links to another: every connection stays inside its topic.")
    elif many and isolated:
        one = len(isolated) == 1
        out.append(f"{names_phrase([c['name'] for c in isolated])} {'has' if one else 'have'} "
                   "no links to other topics.")
    if connections:
        top = connections[0]
        out.append(f"The strongest connection runs between '{top['sourceName']}' and "
                   f"'{top['targetName']}' ({plural(top['edgeCount'], 'link')}, strength "
                   f"{top['strength']:.2f}).")
    return out


def recommend(
    overview: dict[str, Any], clusters: Sequence[dict[str, Any]],
    connections: Sequence[dict[str, Any]],
) -> list[str]:
    """Three to five suggestions, most specific first, generic ones only to reach three."""
    if not clusters:
        return [
            "Import your AI chat history to start building the graph.",
            "Add notes or documents as well as conversations to widen the picture.",
            "Ask for a summary again once a few dozen items are in the graph.",
        ]
    out: list[str] = []
    if connections:
        top = connections[0]
        around = (f", around {words_phrase(top['bridgeKeywords'][:3])}"
                  if top["bridgeKeywords"] else "")
        out.append(f"Explore the bridge between '{top['sourceName']}' and '{top['targetName']}': "
                   f"{plural(top['edgeCount'], 'link')} join them{around}.")
    stale = [c for c in clusters if (c["recency"]["daysSince"] or 0) >= STALE_DAYS]
    if stale:
        c = max(stale, key=lambda c: (c["recency"]["daysSince"], c["size"]))
        out.append(f"Revisit '{c['name']}': nothing new for "
                   f"{plural(int(c['recency']['daysSince']), 'day')}; start from "
                   f"\u201c{c['notableConversations'][0]['title']}\u201d.")
    fair_share = 1 / len(clusters)
    small = [c for c in clusters[1:] if c["share"] <= fair_share and c["bridgeShare"] > 0]
    if small:
        c = max(small, key=lambda c: (c["bridgeShare"], -c["size"]))
        out.append(f"Deepen '{c['name']}': only {plural(c['size'], 'item')}, yet it touches "
                   f"{c['bridgeShare']:.0%} of the links between topics.")
    growing = [c for c in clusters if c["trend"]["direction"] == "growing"]
    if growing:
        c = max(growing, key=lambda c: (c["trend"]["recent"] - c["trend"]["early"], c["size"]))
        out.append(f"Keep following '{c['name']}': {c['trend']['recent']} recent items against "
                   f"{c['trend']['early']} early ones.")
    isolated = [c for c in clusters if c["crossEdges"] == 0]
    if len(clusters) > 1 and isolated:
        c = isolated[0]
        out.append(f"Connect '{c['name']}' with your other topics: none of its items links to "
                   "them yet.")
    largest = clusters[0]
    fillers = []
    if len(clusters) == 1:
        fillers.append(f"Branch out: all {plural(largest['size'], 'item')} form one topic, "
                       f"'{largest['name']}'; conversations on other subjects would show how "
                       "your interests connect.")
    fillers.append(f"Go deeper into '{largest['name']}', your largest topic, starting from "
                   f"\u201c{largest['notableConversations'][0]['title']}\u201d.")
    loose = [c for c in clusters if c["size"] >= 3 and c["density"] < 0.1]
    if loose:
        c = min(loose, key=lambda c: (c["density"], -c["size"]))
        fillers.append(f"Tidy up '{c['name']}': its items are only loosely related (density "
                       f"{c['density']:.2f}) and may hold several topics.")
    fillers += [
        "Add more conversations and notes so that topics and their links stand out more "
        "clearly.",
        "Add documents as well as conversations to widen the picture.",
    ]
    for sentence in fillers:
        if len(out) >= MIN_RECOMMENDATIONS:
            break
        out.append(sentence)
    return out[:MAX_RECOMMENDATIONS]


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
