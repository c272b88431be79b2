"""ADD_NODE: place new items into a stored graph without rebuilding it.

A rebuild re-clusters everything, so cluster ids and names the user has seen would move. Here
existing clusters are frozen: a new item joins the cluster whose centroid (mean direction of its
members) it is most similar to, if that similarity reaches ``join_threshold``; items that fit
nowhere form new clusters, grouped with each other when they are similar enough, numbered after
the existing ones and named from their own keywords. Edges follow the rules of
``edges.knn_edges`` (k nearest, ``edge_threshold``, a low-confidence fallback for a node left
without edges), searched over the stored embeddings and the other new items.

Re-adding: an item whose id is already a node's ``origId`` (or ``id``) is skipped and reported
with reason "already in the graph" when it is the same item (title, source type, sections and
timestamp as stored, and a near-identical embedding); a different item under an existing id is
an ``InputError``, since silently replacing a node would orphan its edges and subcluster.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from tasks.pipeline.clustering import centroids_of
from tasks.pipeline.edges import edges_from_neighbours, nearest_neighbours
from tasks.pipeline.errors import InputError
from tasks.pipeline.graph import (
    CLUSTER_ID_PATTERN,
    CLUSTER_KEYWORDS,
    NODE_KEYWORDS,
    cluster_entry,
    cluster_sort_key,
    iso_timestamp,
    nearest_to_centroid,
    node_entry,
    subcluster_entry,
)
from tasks.pipeline.keywords import cluster_keywords, cluster_name, covering_order, node_keywords
from tasks.pipeline.neighbours import query_neighbours
from tasks.pipeline.parsing import SourceItem, item_text
from tasks.pipeline.vectors import l2_normalize, mean_direction

ALREADY_IN_GRAPH = "already in the graph"
#: Share of a cluster's own members less similar to its centroid than its join threshold.
JOIN_QUANTILE = 0.1
#: Fewest unplaced new items that may open a cluster of their own.
MIN_NEW_CLUSTER_SIZE = 3
#: Confidence of an item placed in its nearest cluster for want of a group of its own.
FORCED_JOIN_CONFIDENCE = 0.25
#: Cosine above which a re-added item's embedding counts as the stored one (GPU and CPU runs
#: of the same model differ in the 4th decimal, a changed conversation by far more).
SAME_EMBEDDING = 0.99


def next_cluster_ids(existing: Iterable[str], count: int) -> list[str]:
    """``count`` fresh ids continuing ``cluster-N`` numbering after the highest existing N."""
    taken = set(existing)
    numbers = [int(m.group(1)) for c in taken if (m := CLUSTER_ID_PATTERN.match(c))]
    start = max(numbers) + 1 if numbers else 0
    out: list[str] = []
    n = start
    while len(out) < count:
        if f"cluster-{n}" not in taken:
            out.append(f"cluster-{n}")
        n += 1
    return out


def unique_name(name: str, taken: set[str]) -> str:
    """``name``, or ``name (2)``, ``name (3)``... so two clusters never share a name."""
    if name not in taken:
        return name
    n = 2
    while f"{name} ({n})" in taken:
        n += 1
    return f"{name} ({n})"


def join_confidence(similarity: float, threshold: float) -> float:
    """Confidence of joining at ``similarity``: 0.5 at the threshold, rising linearly to 1."""
    span = max(1e-9, 1.0 - threshold)
    return float(np.clip(0.5 + 0.5 * (similarity - threshold) / span, 0.0, 1.0))


def new_cluster_confidence(best_similarity: float | None, threshold: float) -> float:
    """Confidence that an item belongs to no existing cluster: 0.5 just below the threshold,
    rising linearly to 1 at similarity 0 (unrelated sentence embeddings sit near 0, rarely
    below), and 1 when there is no cluster to compare with."""
    if best_similarity is None:
        return 1.0
    span = max(1e-9, threshold)
    return float(np.clip(0.5 + 0.5 * (threshold - best_similarity) / span, 0.5, 1.0))


def new_cluster_reason(
    similarity: float | None, nearest: str | None, threshold: float, name: str, size: int
) -> str:
    """Why an item started (or joined) a new cluster, in words for the user."""
    if similarity is None:
        why = "no existing clusters"
    else:
        why = (f"best similarity {similarity:.2f} to centroid of '{nearest}' is below the "
               f"threshold {threshold:.2f}")
    others = size - 1
    company = f" with {others} other new item{'s' if others > 1 else ''}" if others else ""
    return f"{why}; new cluster '{name}'{company}"


def cluster_join_thresholds(
    unit: np.ndarray, clusters: Sequence[str], populated: Sequence[str], ceiling: float
) -> np.ndarray:
    """Per cluster in ``populated``: the similarity to its centroid that all but
    ``JOIN_QUANTILE`` of its own members reach, at most ``ceiling``.

    A fixed threshold is too strict for a spread-out cluster (a quarter of its own members
    would not join it) and too loose for a tight one; each cluster's spread says what fits.
    """
    centroids = centroids_of_clusters(unit, list(clusters), list(populated))
    label = {c: i for i, c in enumerate(populated)}
    rows = np.array([label[c] for c in clusters])
    own = np.einsum("ij,ij->i", unit, centroids[rows])
    return np.array([
        min(ceiling, float(np.quantile(own[rows == i], JOIN_QUANTILE)))
        for i in range(len(populated))
    ])


def similarity_groups(unit: np.ndarray, threshold: float) -> list[list[int]]:
    """Connected components of the graph "cosine >= ``threshold``" over the rows of ``unit``.

    Components (single linkage) rather than greedy seeding, so the grouping does not depend on
    the order the items arrive in. Groups are ordered by their first member.
    """
    n = len(unit)
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    if n > 1:
        sims = unit @ unit.T
        for i, j in zip(*np.nonzero(np.triu(sims >= threshold, k=1)), strict=True):
            a, b = root(int(i)), root(int(j))
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(root(i), []).append(i)
    return sorted(groups.values(), key=lambda g: g[0])


def merge_neighbours(
    parts: Sequence[tuple[np.ndarray, np.ndarray]], k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the ``k`` best of several ``(sims, ids)`` neighbour lists (same rows, ids in
    one index space); padding (id -1) sorts last."""
    sims = np.concatenate([s for s, _ in parts], axis=1)
    ids = np.concatenate([i for _, i in parts], axis=1)
    sims = np.where(ids >= 0, sims, -np.inf)
    order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(sims, order, axis=1), np.take_along_axis(ids, order, axis=1)


def centroids_of_clusters(
    unit: np.ndarray, cluster_of_row: Sequence[str], clusters: Sequence[str]
) -> np.ndarray:
    """Unit mean direction of each cluster's rows, in the order of ``clusters``."""
    index = {c: i for i, c in enumerate(clusters)}
    labels = np.array([index[c] for c in cluster_of_row], dtype=np.int64)
    return centroids_of(unit, labels, len(clusters))


def differing_field(node: dict[str, Any], item: SourceItem) -> str | None:
    """The first stored field on which ``item`` differs from ``node``; ``None`` if none does."""
    expected = {
        "title": item.title,
        "sourceType": item.source_type,
        "numSections": int(item.num_sections),
        "timestamp": iso_timestamp(item.timestamp),
    }
    for field, value in expected.items():
        if field in node and node[field] != value:
            return field
    return None


def _check_inputs(
    graph: dict[str, Any],
    embeddings: np.ndarray,
    new_items: list[SourceItem],
    new_embeddings: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Validated float arrays ``(old, new)``, both 2-d with the same width."""
    nodes = graph.get("nodes") if isinstance(graph, dict) else None
    if not isinstance(nodes, list):
        raise InputError("add_nodes: graph must be an object with a 'nodes' list")
    new = np.asarray(new_embeddings, dtype=np.float64)
    if new.ndim != 2 or len(new) != len(new_items):
        raise InputError(
            f"add_nodes: new embeddings of shape {new.shape} do not match "
            f"{len(new_items)} new items"
        )
    old = np.asarray(embeddings, dtype=np.float64)
    if not nodes and old.size == 0:
        old = np.zeros((0, new.shape[1]))
    if old.ndim != 2 or len(old) != len(nodes):
        raise InputError(
            f"add_nodes: embeddings of shape {old.shape} do not match {len(nodes)} graph nodes"
        )
    if old.shape[1] != new.shape[1]:
        raise InputError(
            f"add_nodes: new embeddings have dimension {new.shape[1]}, the graph's "
            f"{old.shape[1]}"
        )
    ids = [item.id for item in new_items]
    if len(set(ids)) != len(ids):
        dupes = sorted(i for i, c in Counter(ids).items() if c > 1)[:3]
        raise InputError(f"add_nodes: new item ids must be unique, repeated: {dupes}")
    return old, new


def _add_to_subclusters(
    subclusters: list[dict[str, Any]],
    unit: np.ndarray,
    row_of: dict[str, int],
    joined: dict[str, list[int]],
    ids: Sequence[str],
) -> None:
    """Put each node that joined an existing cluster into its most similar subcluster, so the
    subclusters keep partitioning their cluster (names and keywords stay as they were)."""
    by_cluster: dict[str, list[dict[str, Any]]] = {}
    for sub in subclusters:
        by_cluster.setdefault(sub.get("clusterId"), []).append(sub)
    for cluster, rows in joined.items():
        subs = [s for s in by_cluster.get(cluster, []) if any(n in row_of for n in s["nodeIds"])]
        if not subs:
            continue
        centres = np.stack([
            mean_direction(unit, [row_of[n] for n in s["nodeIds"] if n in row_of]) for s in subs
        ])
        for row in rows:
            subs[int(np.argmax(centres @ unit[row]))]["nodeIds"].append(ids[row])


@dataclass
class Placement:
    """Where each fresh item goes: the nearest populated cluster (``best_at``, its similarity
    ``best_sim`` and that cluster's join threshold), whether it joins it (``joins``; forced
    ones for want of a group of their own), and the groups that open new clusters."""

    best_at: np.ndarray
    best_sim: np.ndarray
    threshold: np.ndarray
    joins: np.ndarray
    forced: np.ndarray
    groups: list[list[int]]


def _readded(nodes: list[dict[str, Any]], unit_old: np.ndarray, new_items: list[SourceItem],
             unit_new: np.ndarray) -> tuple[list[dict[str, Any] | None], list[int]]:
    """Assignments of the items already in the graph (the same item: skipped; a changed one:
    refused), and the positions of the fresh ones."""
    node_at = {n["id"]: i for i, n in enumerate(nodes)}
    node_at.update({n["origId"]: i for i, n in enumerate(nodes) if n.get("origId") is not None})
    assignments: list[dict[str, Any] | None] = [None] * len(new_items)
    fresh: list[int] = []
    for j, item in enumerate(new_items):
        at = node_at.get(item.id)
        if at is None:
            fresh.append(j)
            continue
        node = nodes[at]
        similarity = float(unit_old[at] @ unit_new[j])
        field = differing_field(node, item)
        if field is None and similarity < SAME_EMBEDDING:
            field = f"embedding (cosine {similarity:.3f})"
        if field is not None:
            raise InputError(
                f"add_nodes: item {item.id!r} is already node {node['id']!r} but differs in "
                f"{field}; remove the node or give the item a new id"
            )
        assignments[j] = {
            "nodeId": node["id"], "origId": node.get("origId", node["id"]),
            "clusterId": node.get("clusterId"), "clusterName": node.get("clusterName"),
            "confidence": node.get("confidence"), "similarity": round(similarity, 4),
            "reason": ALREADY_IN_GRAPH, "newCluster": False,
        }
    return assignments, fresh


def _stored_names(old_cluster: list[str], nodes: list[dict[str, Any]],
                  clusters_meta: dict[str, dict[str, Any]], existing: list[str]) -> dict[str, str]:
    """Each existing cluster's name as stored (metadata first, then its nodes, then its id)."""
    name_of: dict[str, str] = {}
    for cid, n in zip(old_cluster, nodes, strict=True):
        stored = clusters_meta.get(cid, {}).get("name") or n.get("clusterName")
        name_of.setdefault(cid, stored or cid)
    for cid in existing:
        name_of.setdefault(cid, clusters_meta.get(cid, {}).get("name") or cid)
    return name_of


def place(x: np.ndarray, unit_old: np.ndarray, old_cluster: list[str], populated: list[str],
          join_threshold: float) -> Placement:
    """Join each item to its nearest frozen cluster when similar enough; new clusters only
    from coherent groups of several unplaced items; the rest placed in their nearest cluster
    anyway (forced, low confidence: no one-item clusters)."""
    if populated:
        sims = x @ centroids_of_clusters(unit_old, old_cluster, populated).T
        best_at = sims.argmax(axis=1)
        best_sim = sims[np.arange(len(x)), best_at]
        thresholds = cluster_join_thresholds(unit_old, old_cluster, populated, join_threshold)
        item_threshold = thresholds[best_at]
        group_threshold = float(np.median(thresholds))
    else:
        best_at = np.zeros(len(x), dtype=np.int64)
        best_sim = np.full(len(x), -np.inf)
        item_threshold = np.full(len(x), join_threshold)
        group_threshold = join_threshold
    joins = best_sim >= item_threshold
    pending = np.flatnonzero(~joins)
    groups, strays = [], []
    for group in similarity_groups(x[pending], group_threshold):
        rows = [int(pending[g]) for g in group]
        coherent = len(rows) >= MIN_NEW_CLUSTER_SIZE and float(
            np.mean(x[rows] @ mean_direction(x, rows))) >= group_threshold
        if coherent or not populated:
            groups.append(rows)
        else:
            strays.extend(rows)
    forced = np.zeros(len(x), dtype=bool)
    forced[strays] = True
    return Placement(best_at, best_sim, item_threshold, joins | forced, forced, groups)


def _confidence_and_reason(placed: Placement, f: int, sim: float | None, cid: str,
                           name_of: dict[str, str], best_name: str | None,
                           clusters_meta: dict[str, dict[str, Any]]) -> tuple[float, str]:
    """How sure the placement of fresh item ``f`` in ``cid`` is, and why, in words. ``sim``
    is its similarity to the nearest existing cluster (``best_name``); ``None`` without one."""
    threshold = float(placed.threshold[f])
    if placed.forced[f]:
        return FORCED_JOIN_CONFIDENCE, (
            f"similarity {sim:.2f} to centroid of '{name_of[cid]}' is below its threshold "
            f"{threshold:.2f}, but no group of {MIN_NEW_CLUSTER_SIZE} similar new items "
            "formed a cluster: nearest cluster, low confidence")
    if placed.joins[f]:
        return join_confidence(sim, threshold), (
            f"similarity {sim:.2f} to centroid of '{name_of[cid]}' (its threshold "
            f"{threshold:.2f})")
    return (new_cluster_confidence(sim, threshold),
            new_cluster_reason(sim, best_name, threshold, name_of[cid],
                               clusters_meta[cid]["size"]))


def _new_edges(unit_old: np.ndarray, x: np.ndarray, row_clusters: list[str], ids: list[str],
               k: int, edge_threshold: float) -> list[dict[str, Any]]:
    """Each new node's edges to its k nearest among stored nodes and the other new nodes."""
    n_old = len(unit_old)
    if not len(x) or k < 1 or n_old + len(x) < 2:
        return []
    parts = [query_neighbours(unit_old, x, k)]
    if len(x) >= 2:
        s, i = nearest_neighbours(x, k)
        parts.append((s, np.where(i >= 0, i + n_old, -1)))
    sims_new, ids_new = merge_neighbours(parts, k)
    sims_all = np.vstack([np.full((n_old, k), -np.inf, dtype=np.float32), sims_new])
    ids_all = np.vstack([np.full((n_old, k), -1, dtype=np.int64), ids_new])
    label_ids = {c: i for i, c in enumerate(dict.fromkeys(row_clusters))}
    row_labels = np.array([label_ids[c] for c in row_clusters], dtype=np.int64)
    reach = np.concatenate([_stored_reach(unit_old, ids_new, k), sims_new[:, -1]])
    return [{**e, "source": ids[e["source"]], "target": ids[e["target"]]}
            for e in edges_from_neighbours(sims_all, ids_all, row_labels, edge_threshold,
                                           reach=reach)]


def _stored_reach(unit_old: np.ndarray, ids_new: np.ndarray, k: int) -> np.ndarray:
    """The k-th neighbour similarity among stored nodes of each stored node a new node has
    near (others: +inf, never asked): a fallback edge to a stored node must be mutual."""
    reach = np.full(len(unit_old), np.inf, dtype=np.float32)
    near = np.unique(ids_new[(ids_new >= 0) & (ids_new < len(unit_old))])
    if len(near):
        sims, _ = query_neighbours(unit_old, unit_old[near], k + 1)  # the first is itself
        reach[near] = sims[:, -1]
    return reach


def add_nodes(
    graph: dict[str, Any],
    embeddings: np.ndarray,
    new_items: list[SourceItem],
    new_embeddings: np.ndarray,
    *,
    join_threshold: float = 0.45,
    k: int = 5,
    edge_threshold: float = 0.5,
) -> tuple[dict[str, Any], np.ndarray, list[dict[str, Any]]]:
    """Add ``new_items`` to ``graph``; returns ``(graph, embeddings, assignments)``.

    ``embeddings`` are the stored nodes' vectors in ``graph["nodes"]`` order. The input graph is
    not modified. The returned embeddings are unit rows (float32), old then new, in node order.
    Assignments, one per new item in input order: ``nodeId, origId, clusterId, clusterName,
    confidence, similarity`` (to the chosen centroid, or the best existing one for a new
    cluster; ``None`` when the graph had no clusters), ``reason``, ``newCluster``.
    """
    old, new = _check_inputs(graph, embeddings, new_items, new_embeddings)
    out = copy.deepcopy(graph)
    nodes: list[dict[str, Any]] = out["nodes"]
    meta = out.setdefault("metadata", {})
    clusters_meta: dict[str, dict[str, Any]] = meta.setdefault("clusters", {})
    unit_old = l2_normalize(old).astype(np.float32)
    unit_new = l2_normalize(new).astype(np.float32)
    assignments, fresh = _readded(nodes, unit_old, new_items, unit_new)

    # Existing clusters, frozen: id, name, centroid.
    old_cluster = [str(n.get("clusterId")) for n in nodes]
    existing = sorted(set(old_cluster) | set(clusters_meta), key=cluster_sort_key)
    populated = sorted(set(old_cluster), key=cluster_sort_key)
    name_of = _stored_names(old_cluster, nodes, clusters_meta, existing)
    x = unit_new[fresh]
    placed = place(x, unit_old, old_cluster, populated, join_threshold)
    new_ids = next_cluster_ids(existing, len(placed.groups))
    cluster_of = [populated[int(placed.best_at[f])] if placed.joins[f] else ""
                  for f in range(len(fresh))]
    for cid, group in zip(new_ids, placed.groups, strict=True):
        for f in group:
            cluster_of[f] = cid

    fresh_items = [new_items[j] for j in fresh]
    per_node = _name_new_clusters(x, fresh_items, cluster_of, new_ids, placed.groups,
                                  name_of, clusters_meta)

    # Nodes and assignments.
    for f, j in enumerate(fresh):
        item, cid = new_items[j], cluster_of[f]
        sim = float(placed.best_sim[f]) if populated else None
        best_name = name_of[populated[int(placed.best_at[f])]] if populated else None
        confidence, reason = _confidence_and_reason(placed, f, sim, cid, name_of, best_name,
                                                    clusters_meta)
        nodes.append(node_entry(item, cid, name_of[cid], per_node[f], confidence))
        assignments[j] = {
            "nodeId": item.id, "origId": item.id, "clusterId": cid, "clusterName": name_of[cid],
            "confidence": round(confidence, 4),
            "similarity": None if sim is None else round(sim, 4),
            "reason": reason, "newCluster": not bool(placed.joins[f]),
        }

    if not isinstance(out.get("edges"), list):
        out["edges"] = []
    ids = [n["id"] for n in nodes]
    out["edges"] += _new_edges(unit_old, x, old_cluster + cluster_of, ids, k, edge_threshold)
    all_unit = np.vstack([unit_old, x]).astype(np.float32)

    if isinstance(out.get("subclusters"), list):
        _extend_subclusters(out["subclusters"], all_unit, ids, placed, cluster_of, new_ids,
                            clusters_meta, per_node)

    sizes = Counter(str(n.get("clusterId")) for n in nodes)
    for cid, entry in clusters_meta.items():
        entry["size"] = sizes.get(cid, 0)
    meta["totalNodes"] = len(nodes)
    meta["totalEdges"] = len(out["edges"])
    meta["updatedAt"] = datetime.now(tz=UTC).isoformat()
    return out, all_unit, [a for a in assignments if a is not None]


def _name_new_clusters(
    x: np.ndarray, items: list[SourceItem], cluster_of: list[str], new_ids: list[str],
    groups: list[list[int]], name_of: dict[str, str], clusters_meta: dict[str, dict[str, Any]],
) -> list[list[str]]:
    """Name each new cluster (unique among the stored names) and enter it in ``clusters_meta``;
    the new nodes' own keywords. Cluster words are c-TF-IDF over all new texts, so the joined
    ones give contrast."""
    texts = [item_text(item) for item in items]
    per_node = node_keywords(texts, top_n=NODE_KEYWORDS)
    label_of = {c: i for i, c in enumerate(dict.fromkeys(cluster_of))}
    labels = np.array([label_of[c] for c in cluster_of], dtype=np.int64)
    per_cluster = cluster_keywords(texts, labels, top_n=CLUSTER_KEYWORDS) if texts else {}
    taken = {str(v) for v in name_of.values() if v}
    for cid, group in zip(new_ids, groups, strict=True):
        words = per_cluster.get(label_of[cid], [])
        name_of[cid] = unique_name(
            cluster_name(covering_order(words, [per_node[f] for f in group])), taken)
        taken.add(name_of[cid])
        central = nearest_to_centroid(x, np.asarray(group), 2)
        clusters_meta[cid] = cluster_entry(
            name_of[cid], words, [items[f].title for f in central], len(group))
    return per_node


def _extend_subclusters(
    subclusters: list[dict[str, Any]], all_unit: np.ndarray, ids: list[str], placed: Placement,
    cluster_of: list[str], new_ids: list[str], clusters_meta: dict[str, dict[str, Any]],
    per_node: list[list[str]],
) -> None:
    """Joined nodes go to their nearest subcluster; a new cluster is one subcluster."""
    n_old = len(ids) - len(cluster_of)
    x = all_unit[n_old:]
    joined: dict[str, list[int]] = {}
    for f, cid in enumerate(cluster_of):
        if placed.joins[f]:
            joined.setdefault(cid, []).append(n_old + f)
    row_of = {node_id: r for r, node_id in enumerate(ids)}
    _add_to_subclusters(subclusters, all_unit, row_of, joined, ids)
    for cid, group in zip(new_ids, placed.groups, strict=True):
        representative = nearest_to_centroid(x, np.asarray(group), 1)[0]
        subclusters.append(subcluster_entry(
            cid, 0, [ids[n_old + f] for f in group], ids[n_old + representative],
            clusters_meta[cid]["keyThemes"] or per_node[representative]))
