"""summarize_graph on small hand-made graphs whose statistics are known exactly."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pytest

from tasks.pipeline.graph import build_graph
from tasks.pipeline.parsing import SourceItem
from tasks.pipeline.summary import summarize_graph
from tasks.pipeline.summary.statistics import (
    bridge_keywords,
    density,
    most_active_month,
    parse_time,
    trend,
)

NOW = datetime(2025, 1, 31, tzinfo=UTC)


def node(nid: str, cluster: int, name: str, when: str | None, keywords: list[str]) -> dict:
    return {
        "id": nid, "origId": nid, "clusterId": f"cluster-{cluster}", "clusterName": name,
        "keywords": keywords, "timestamp": when and f"{when}T00:00:00+00:00", "numSections": 2,
        "sourceType": "chat", "title": f"Title {nid}", "confidence": 0.9,
    }


def edge(s: str, t: str, w: float, graph_nodes: list[dict]) -> dict:
    cluster = {n["id"]: n["clusterId"] for n in graph_nodes}
    return {"source": s, "target": t, "weight": w, "type": "semantic",
            "isIntraCluster": cluster[s] == cluster[t], "confidence": "medium"}


@pytest.fixture
def graph() -> dict:
    """Baking (4, early, fading), Football (3, late, growing), Garden (2, isolated, densest)."""
    nodes = [
        node("b1", 0, "Baking", "2024-01-05", ["sourdough"]),
        node("b2", 0, "Baking", "2024-01-10", ["sourdough", "rye"]),
        node("b3", 0, "Baking", "2024-01-20", ["flour", "oven"]),
        node("b4", 0, "Baking", "2024-02-01", ["oven", "match day", "bread"]),
        node("f1", 1, "Football", "2024-11-01", ["match day", "stadium"]),
        node("f2", 1, "Football", "2024-11-15", ["Oven", "pizza"]),
        node("f3", 1, "Football", "2024-12-31", ["league"]),
        node("g1", 2, "Garden", "2024-06-15", ["tomato", "compost"]),
        node("g2", 2, "Garden", None, ["tomato"]),
    ]
    pairs = [("b1", "b2", 0.9), ("b2", "b3", 0.8), ("b1", "b3", 0.7), ("b3", "b4", 0.6),
             ("f1", "f2", 0.9), ("g1", "g2", 0.8), ("b4", "f1", 0.55), ("f2", "b3", 0.5)]
    clusters = {
        "cluster-0": {"name": "Baking", "description": "", "size": 4,
                      "keyThemes": ["sourdough", "flour", "oven"]},
        "cluster-1": {"name": "Football", "description": "", "size": 3,
                      "keyThemes": ["football", "match day"]},
        "cluster-2": {"name": "Garden", "description": "", "size": 2},
    }
    return {
        "nodes": nodes,
        "edges": [edge(s, t, w, nodes) for s, t, w in pairs],
        "subclusters": [],
        "metadata": {"clusters": clusters, "totalNodes": 9, "totalEdges": 8},
    }


def test_overview_statistics(graph):
    summary = summarize_graph(graph, now=NOW)
    o = summary["overview"]
    assert (o["totalNodes"], o["totalEdges"], o["totalClusters"]) == (9, 8, 3)
    assert o["timeSpan"] == {"start": "2024-01-05T00:00:00+00:00",
                             "end": "2024-12-31T00:00:00+00:00"}
    assert o["primaryInterests"] == ["Baking", "Football", "Garden"]
    assert o["mostActivePeriod"] == {"month": "2024-01", "count": 3}
    assert o["generatedBy"] == "statistics" and summary["generatedBy"] == "statistics"
    assert o["text"].startswith("9 items in 3 topics, linked by 8 connections, from 2024-01-05")
    assert "2024-01 was the busiest month (3 items)" in o["text"]
    json.dumps(summary)


def test_cluster_statistics(graph):
    clusters = summarize_graph(graph, now=NOW)["clusters"]
    assert [c["clusterId"] for c in clusters] == ["cluster-0", "cluster-1", "cluster-2"]
    baking, football, garden = clusters
    assert baking["size"] == 4 and baking["share"] == pytest.approx(4 / 9, abs=1e-4)
    assert baking["density"] == pytest.approx(4 / 6, abs=1e-4)
    assert football["density"] == pytest.approx(1 / 3, abs=1e-4) and garden["density"] == 1.0
    assert (baking["intraEdges"], baking["crossEdges"], garden["crossEdges"]) == (4, 2, 0)
    assert baking["centrality"] == pytest.approx((1.6 + 1.7 + 2.6 + 1.15) / 4, abs=1e-4)
    assert baking["bridgeShare"] == football["bridgeShare"] == 1.0 and garden["bridgeShare"] == 0
    assert baking["recency"] == {"newest": "2024-02-01T00:00:00+00:00", "daysSince": 365.0}
    assert football["recency"]["daysSince"] == 31.0
    assert garden["recency"]["daysSince"] == (NOW - datetime(2024, 6, 15, tzinfo=UTC)).days
    assert baking["trend"] == {"early": 4, "recent": 0, "direction": "fading"}
    assert football["trend"] == {"early": 0, "recent": 3, "direction": "growing"}
    assert garden["trend"]["direction"] == "steady"
    assert baking["keywords"] == ["sourdough", "flour", "oven"]
    assert garden["keywords"] == ["tomato", "compost"]  # no keyThemes: most frequent node words
    assert [n["id"] for n in baking["notableConversations"]] == ["b3", "b2", "b1"]
    assert baking["notableConversations"][0] == {"id": "b3", "title": "Title b3",
                                                 "weightedDegree": 2.6}
    assert [n["id"] for n in football["notableConversations"]] == ["f1", "f2", "f3"]
    assert baking["insight"] == (
        "'Baking' (sourdough, flour and oven) holds 4 of 9 items (44%); it is tightly knit "
        "(density 0.67) with 2 links to other topics, last active 365 days ago and fading."
    )
    assert "with no links to other topics" in garden["insight"]
    assert all(c["generatedBy"] == "statistics" for c in clusters)


def test_connections_patterns_and_recommendations(graph):
    summary = summarize_graph(graph, now=NOW)
    [conn] = summary["connections"]
    assert conn == {
        "source": "cluster-0", "sourceName": "Baking", "target": "cluster-1",
        "targetName": "Football", "strength": 1.05, "edgeCount": 2,
        # shared by both ends first (oven: 3 nodes, match day: 2), then the most frequent.
        "bridgeKeywords": ["oven", "match day", "bread", "flour", "pizza"],
    }
    patterns = summary["patterns"]
    assert "'Football' is growing: more of its items fall in the last third" in patterns[0]
    assert patterns[1].startswith("'Baking' has gone quieter")
    assert "'Garden' is the most tightly knit topic (density 1.00)." in patterns
    assert "'Garden' has no links to other topics." in patterns
    assert patterns[-1].startswith("The strongest connection runs between 'Baking' and 'Football'")
    recs = summary["recommendations"]
    assert len(recs) == 5
    assert recs[0] == ("Explore the bridge between 'Baking' and 'Football': 2 links join them, "
                       "around oven, match day and bread.")
    assert recs[1].startswith("Revisit 'Baking': nothing new for 365 days")
    assert recs[2].startswith("Deepen 'Football': only 3 items, yet it touches 100%")
    assert recs[3] == "Keep following 'Football': 3 recent items against 0 early ones."
    assert recs[4].startswith("Connect 'Garden' with your other topics")


def test_top_n_bounds_the_lists(graph):
    summary = summarize_graph(graph, now=NOW, top_n=2)
    assert summary["overview"]["primaryInterests"] == ["Baking", "Football"]
    assert summary["connections"][0]["bridgeKeywords"] == ["oven", "match day"]
    assert all(len(c["keywords"]) <= 2 for c in summary["clusters"])


def test_the_generator_writes_overview_and_insights(graph):
    prompts: list[str] = []

    def describe(prompt: str) -> str:
        prompts.append(prompt)
        return f"  generated {len(prompts)}  "

    summary = summarize_graph(graph, describe=describe, now=NOW)
    assert summary["generatedBy"] == "llm"
    assert summary["overview"]["text"] == "generated 1"
    assert summary["overview"]["generatedBy"] == "llm"
    assert [c["insight"] for c in summary["clusters"]] == [f"generated {i}" for i in (2, 3, 4)]
    assert "items: 9, links: 8, topics: 3" in prompts[0]
    assert "busiest month: 2024-01 (3 items)" in prompts[0]
    assert "- topic: Baking" in prompts[1] and "\u201cTitle b3\u201d" in prompts[1]
    assert "days since the last item: 365.0" in prompts[1] and "trend: fading" in prompts[1]
    # Patterns, connections and recommendations stay statistical.
    assert summary["recommendations"] == summarize_graph(graph, now=NOW)["recommendations"]


def test_generator_failures_fall_back_per_part(graph):
    def flaky(prompt: str) -> str:
        if "topic: Garden" in prompt:
            raise RuntimeError("model crashed")
        return "" if "topic: Football" in prompt else "written by the model"

    summary = summarize_graph(graph, describe=flaky, now=NOW)
    plain = summarize_graph(graph, now=NOW)
    by_name = {c["name"]: c for c in summary["clusters"]}
    assert by_name["Baking"]["generatedBy"] == "llm"
    assert by_name["Baking"]["insight"] == "written by the model"
    for name, expected in zip(["Football", "Garden"], plain["clusters"][1:], strict=True):
        assert by_name[name]["generatedBy"] == "statistics"
        assert by_name[name]["insight"] == expected["insight"]
    assert summary["generatedBy"] == "llm"

    def broken(prompt: str) -> str:
        raise ValueError("no model")

    summary = summarize_graph(graph, describe=broken, now=NOW)
    assert summary["generatedBy"] == "statistics" and summary["overview"]["text"] == (
        plain["overview"]["text"]
    )


@pytest.mark.parametrize("empty", [{}, {"nodes": [], "edges": [], "metadata": {"clusters": {}}}])
def test_empty_graph(empty):
    calls: list[str] = []
    summary = summarize_graph(empty, describe=calls.append, now=NOW)
    assert calls == []  # nothing to describe: no made-up overview
    o = summary["overview"]
    assert (o["totalNodes"], o["totalEdges"], o["totalClusters"]) == (0, 0, 0)
    assert o["timeSpan"] == {"start": None, "end": None} and o["mostActivePeriod"] is None
    assert o["primaryInterests"] == [] and "empty" in o["text"]
    assert summary["clusters"] == summary["patterns"] == summary["connections"] == []
    assert len(summary["recommendations"]) == 3
    assert summary["generatedBy"] == "statistics"


def test_one_cluster_without_timestamps():
    nodes = [node(f"n{i}", 0, "Python", None, ["python", "pandas"][: i + 1]) for i in range(3)]
    graph = {"nodes": nodes, "edges": [edge("n0", "n1", 0.8, nodes)],
             "metadata": {"clusters": {}}}
    summary = summarize_graph(graph, now=NOW)
    [c] = summary["clusters"]
    assert c["name"] == "Python" and c["share"] == 1.0  # name from the nodes
    assert c["density"] == pytest.approx(1 / 3, abs=1e-4)
    assert c["recency"] == {"newest": None, "daysSince": None}
    assert c["trend"]["direction"] is None and c["keywords"] == ["python", "pandas"]
    assert c["insight"] == ("'Python' (python and pandas) holds 3 of 3 items (100%); it is "
                            "tightly knit (density 0.33).")
    assert summary["connections"] == []
    assert summary["patterns"] == ["All 3 items form a single topic, 'Python'.",
                                   "No item has a timestamp, so changes over time are unknown."]
    recs = summary["recommendations"]
    assert len(recs) == 3 and recs[0].startswith("Branch out: all 3 items form one topic")
    assert summary["overview"]["text"] == (
        "3 items in 1 topic, linked by 1 connection. The main interest is 'Python'."
    )


def test_edges_to_unknown_nodes_and_odd_values_are_ignored(graph):
    graph["edges"] += [{"source": "b1", "target": "ghost", "weight": 0.9},
                       {"source": "b1", "target": "b1", "weight": 0.9}]
    graph["nodes"][0]["timestamp"] = "not a date"
    summary = summarize_graph(graph, now=NOW)
    assert summary["overview"]["totalEdges"] == 8
    graph["edges"] = [e for e in graph["edges"] if e.get("isIntraCluster")]
    assert "No topic links to another" in summarize_graph(graph, now=NOW)["patterns"][-1]
    # b1 lost its date: January and November tie at 2, and the newer month wins.
    assert summary["overview"]["mostActivePeriod"] == {"month": "2024-11", "count": 2}


def test_helpers():
    assert parse_time("2024-03-01T10:00:00Z") == datetime(2024, 3, 1, 10, tzinfo=UTC)
    assert parse_time("2024-03-01") == datetime(2024, 3, 1, tzinfo=UTC)  # naive means UTC
    assert parse_time(1700000000) == parse_time(1700000000000.0) == datetime.fromtimestamp(
        1700000000, tz=UTC)
    assert parse_time(None) is parse_time("junk") is parse_time(True) is None
    assert density(1, 0) == 0.0 and density(3, 3) == 1.0 and density(4, 3) == 0.5
    march, april = datetime(2024, 3, 5, tzinfo=UTC), datetime(2024, 4, 5, tzinfo=UTC)
    assert most_active_month([march, april]) == {"month": "2024-04", "count": 1}  # tie: newest
    assert most_active_month([]) is None
    assert trend([march], march, march)["direction"] is None
    assert trend([march, april], march, datetime(2024, 10, 1, tzinfo=UTC)) == {
        "early": 2, "recent": 0, "direction": "fading"}
    assert bridge_keywords([{"keywords": ["a", "b"]}], [{"keywords": ["B", "c"]}], 5) == [
        "b", "a", "c"]


def test_summarizes_a_built_graph():
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(2, 32))
    words = ["sourdough flour oven crumb", "striker goal league referee"]
    items, rows = [], []
    for t in range(2):
        for i in range(8):
            items.append(SourceItem(id=f"{t}-{i}", title=f"T{t} {i}",
                                    text=" ".join(rng.permutation(words[t].split())),
                                    timestamp=1.7e9 + 86400 * (i + 10 * t), num_sections=1))
            rows.append(centres[t] + 0.3 * rng.normal(size=32))
    built, _ = build_graph(items, np.array(rows), min_clusters=2, max_clusters=2)
    summary = summarize_graph(built, now=NOW)
    assert summary["overview"]["totalNodes"] == 16
    assert summary["overview"]["totalClusters"] == 2
    assert sorted(c["size"] for c in summary["clusters"]) == [8, 8]
    assert 3 <= len(summary["recommendations"]) <= 5
    json.dumps(summary)


def test_a_stored_document_that_is_not_a_graph_is_an_input_error():
    import pytest

    from tasks.pipeline.errors import InputError

    for bad in ([1, 2, 3], {"nodes": "x"}, "graph"):
        with pytest.raises(InputError, match="not a graph"):
            summarize_graph(bad)
