"""The words of a summary: overview and cluster insights from the statistics, or from an LLM
given a prompt holding the same statistics; patterns and recommendations.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from tasks.pipeline.phrases import words_phrase

log = logging.getLogger(__name__)

Describe = Callable[[str], str]

#: A cluster without a new item for this many days is worth revisiting.
STALE_DAYS = 30
MIN_RECOMMENDATIONS, MAX_RECOMMENDATIONS = 3, 5
STATISTICS, LLM = "statistics", "llm"


def names_phrase(names: Sequence[str]) -> str:
    """``'A'``, ``'A' and 'B'``, ``'A', 'B' and 'C'``."""
    quoted = [f"'{n}'" for n in names]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} and {quoted[-1]}"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def days_ago(days: float) -> str:
    return "within the last day" if days < 1 else f"{plural(int(days), 'day')} ago"


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
