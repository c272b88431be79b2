"""Assemble the GraphNode graph and features documents from items and their embeddings.

Stages: clustering -> k-NN edges -> keywords and names -> Louvain subclusters inside each
cluster. The output follows the GraphNode shape (see DESIGN.md (shared)); node ids are
the items' ids, and edges refer to node ids.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from tasks.pipeline.clustering import MAX_CLUSTER_SHARE, ClusterModel
from tasks.pipeline.edges import knn_edges
from tasks.pipeline.errors import InputError
from tasks.pipeline.keywords import (
    cluster_keywords,
    cluster_name,
    covering_order,
    node_keywords,
    term_words,
    tokens_memoized,
)
from tasks.pipeline.lexical import item_vectors, model_reads
from tasks.pipeline.parsing import SourceItem, item_text
from tasks.pipeline.phrases import words_phrase
from tasks.pipeline.vectors import l2_normalize, mean_direction

LOUVAIN_SEED = 42
CLUSTER_KEYWORDS = 8
#: A cluster's top c-TF-IDF terms its name is chosen from (``covering_order``).
NAME_CANDIDATES = 20
KEY_THEMES = 5
NODE_KEYWORDS = 5
SUBCLUSTER_KEYWORDS = 5
#: Smaller Louvain communities are folded into their nearest neighbour community.
MIN_SUBCLUSTER_SIZE = 3
#: Timestamps above this are taken to be milliseconds, not seconds (year 5138 in seconds).
_MILLISECONDS_ABOVE = 1e11
#: Public cluster ids as ``cluster_id`` writes them; the number is the cluster label.
CLUSTER_ID_PATTERN = re.compile(r"^cluster-(\d+)$")

Progress = Callable[[str, float], None]


def iso_timestamp(stamp: float | None) -> str | None:
    """Epoch seconds (or milliseconds) as an ISO 8601 UTC string; ``None`` if unusable."""
    if stamp is None or not math.isfinite(stamp):
        return None
    if abs(stamp) > _MILLISECONDS_ABOVE:
        stamp /= 1000.0
    try:
        return datetime.fromtimestamp(stamp, tz=UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        return None


def cluster_id(label: int) -> str:
    """The public id of a cluster label."""
    return f"cluster-{label}"


def cluster_sort_key(cluster: str) -> tuple[int, int, str]:
    """Order ``cluster-2`` before ``cluster-10``; ids of other forms after, alphabetically."""
    match = CLUSTER_ID_PATTERN.match(cluster)
    return (0, int(match.group(1)), "") if match else (1, 0, cluster)


def nearest_to_centroid(embeddings: np.ndarray, members: np.ndarray, count: int) -> list[int]:
    """Up to ``count`` member indices closest (cosine) to the members' mean direction."""
    vectors = embeddings[members]
    centre = mean_direction(vectors)
    order = np.argsort(-(vectors @ centre), kind="stable")
    return [int(members[i]) for i in order[:count]]


def describe_cluster(keywords: Sequence[str], titles: Sequence[str], size: int) -> str:
    """One sentence about a cluster from its keywords and its most central titles."""
    noun = "item" if size == 1 else "items"
    themes = list(keywords[:3])
    about = words_phrase(themes) if themes else "assorted topics"
    quoted = [f"\u201c{t}\u201d" for t in titles if t]
    example = f", such as {' and '.join(quoted)}" if quoted else ""
    return f"{size} {noun} about {about}{example}."


def absorb_small(
    communities: list[list[int]], embeddings: np.ndarray, min_size: int
) -> list[list[int]]:
    """Fold communities smaller than ``min_size`` into the most similar larger one (cosine).

    The k-NN graph inside a cluster has stray fragments (a node whose neighbours all sit in
    other clusters is its own component); as subclusters they would be noise. If no community
    reaches ``min_size``, the communities are returned unchanged.
    """
    large = [c for c in communities if len(c) >= min_size]
    small = [c for c in communities if len(c) < min_size]
    if not large or not small:
        return communities
    merged = [list(c) for c in large]
    centres = np.stack([mean_direction(embeddings, c) for c in large])
    for fragment in small:
        centre = mean_direction(embeddings, fragment)
        merged[int(np.argmax(centres @ centre))].extend(fragment)
    return [sorted(c) for c in merged]


def subclusters_of(
    members: np.ndarray,
    edges: Sequence[dict[str, Any]],
    embeddings: np.ndarray,
    min_size: int = MIN_SUBCLUSTER_SIZE,
) -> list[list[int]]:
    """Louvain communities of one cluster over its intra-cluster edges (fixed seed).

    Fragments below ``min_size`` join their nearest community; the result is ordered by size
    (largest first), then by smallest member, and partitions ``members``.
    """
    import networkx as nx

    graph = nx.Graph()
    graph.add_nodes_from(int(m) for m in members)
    for edge in edges:
        graph.add_edge(edge["source"], edge["target"], weight=max(edge["weight"], 1e-6))
    if graph.number_of_edges() == 0:
        communities = [{int(m)} for m in members]
    else:
        communities = nx.community.louvain_communities(
            graph, weight="weight", seed=LOUVAIN_SEED
        )
    ordered = absorb_small([sorted(c) for c in communities], embeddings, min_size)
    ordered.sort(key=lambda c: (-len(c), c[0]))
    return ordered


def node_entry(item: SourceItem, cluster: str, name: str, keywords: list[str],
               confidence: float) -> dict[str, Any]:
    """A graph node of ``item`` in ``cluster`` (the GraphNode shape); builds and add-node
    write nodes alike."""
    return {
        "id": item.id,
        "origId": item.id,
        "clusterId": cluster,
        "clusterName": name,
        "keywords": keywords,
        "timestamp": iso_timestamp(item.timestamp),
        "numSections": int(item.num_sections),
        "sourceType": item.source_type,
        "title": item.title,
        "confidence": round(float(confidence), 4),
    }


def cluster_entry(name: str, keywords: list[str], central_titles: Sequence[str],
                  size: int) -> dict[str, Any]:
    """A cluster's ``metadata.clusters`` entry."""
    return {
        "name": name,
        "description": describe_cluster(keywords, central_titles, size),
        "size": size,
        "keyThemes": keywords[:KEY_THEMES],
    }


def subcluster_entry(cluster: str, number: int, node_ids: list[str], representative: str,
                     keywords: list[str]) -> dict[str, Any]:
    """One subcluster of ``cluster``; ``representative`` is the node nearest its centre."""
    return {
        "id": f"{cluster}-sub-{number}",
        "clusterId": cluster,
        "nodeIds": node_ids,
        "representativeNodeId": representative,
        "topKeywords": keywords[:SUBCLUSTER_KEYWORDS],
    }


def name_coverage(graph: dict[str, Any]) -> dict[str, float]:
    """Per cluster, the share of its members whose own keywords share a word with the
    cluster's name: how far the name describes the cluster, not only its loudest part."""
    names = {cid: term_words(meta["name"].split(" / "))
             for cid, meta in graph["metadata"]["clusters"].items()}
    met: dict[str, list[bool]] = {}
    for node in graph["nodes"]:
        cid = node["clusterId"]
        met.setdefault(cid, []).append(
            bool(term_words(node["keywords"]) & names.get(cid, frozenset())))
    return {cid: sum(hits) / len(hits) for cid, hits in met.items()}


def count_entry(model: ClusterModel) -> dict[str, Any]:
    """``metadata.clusterCount``: the allowed range, the count chosen and how sure it is."""
    margin = model.count_margin_
    return {
        "minClusters": model.min_clusters, "maxClusters": model.max_clusters,
        "chosen": model.n_clusters_, "densityClusters": model.density_clusters_,
        "margin": None if margin is None else round(float(margin), 4),
        "confidence": model.count_confidence_, "source": model.count_source_,
        "balanceSplits": model.balance_splits_,
    }


def _unit_rows(items: list[SourceItem], embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The embeddings as float32 and as unit rows, refused unless one per unique item."""
    vectors = np.asarray(embeddings, dtype=np.float32)
    if not items:
        raise InputError("build_graph: there are no items to build a graph from")
    if vectors.ndim != 2 or len(vectors) != len(items):
        raise InputError(
            f"build_graph: embeddings of shape {vectors.shape} do not match {len(items)} items"
        )
    ids = [item.id for item in items]
    if len(set(ids)) != len(ids):
        dupes = sorted(i for i, c in Counter(ids).items() if c > 1)[:3]
        raise InputError(f"build_graph: item ids must be unique, repeated: {dupes}")
    return vectors, l2_normalize(vectors).astype(np.float32)


def _cluster_words_and_names(texts: list[str], labels: np.ndarray, per_node: list[list[str]]
                             ) -> tuple[dict[int, list[str]], dict[int, str]]:
    """Each cluster's key terms (c-TF-IDF) and its name: of its top ``NAME_CANDIDATES`` terms,
    those that name most of its members (``covering_order``)."""
    candidates = cluster_keywords(texts, labels, top_n=NAME_CANDIDATES)
    names = {c: cluster_name(covering_order(words, [per_node[i] for i in
                                                    np.flatnonzero(labels == c)]))
             for c, words in candidates.items()}
    return {c: words[:CLUSTER_KEYWORDS] for c, words in candidates.items()}, names


def _cluster_subclusters(label: int, members: np.ndarray, labels: np.ndarray,
                         index_edges: list[dict[str, Any]], unit: np.ndarray, texts: list[str],
                         ids: list[str], per_node: list[list[str]]) -> list[dict[str, Any]]:
    """The Louvain subclusters of one cluster (its ``members``), named by c-TF-IDF among
    them (a subcluster without words of its own takes its representative's keywords)."""
    intra = [e for e in index_edges if e["isIntraCluster"] and labels[e["source"]] == label]
    communities = subclusters_of(members, intra, unit)
    sub_labels = np.zeros(len(ids), dtype=np.int64)
    for j, community in enumerate(communities):
        sub_labels[community] = j
    sub_words = cluster_keywords(
        [texts[i] for i in members], sub_labels[members], top_n=SUBCLUSTER_KEYWORDS
    )
    entries = []
    for j, community in enumerate(communities):
        representative = nearest_to_centroid(unit, np.asarray(community), 1)[0]
        entries.append(subcluster_entry(
            cluster_id(label), j, [ids[i] for i in community], ids[representative],
            sub_words.get(j) or per_node[representative]))
    return entries


def _features(items: list[SourceItem], unit: np.ndarray, embedding_dimension: int,
              model: ClusterModel, *, mmr: bool, k: int, threshold: float) -> dict[str, Any]:
    """The features document: each node's vector and how the graph was extracted."""
    return {
        "dimension": int(unit.shape[1]),
        "embeddingDimension": embedding_dimension,
        "nodes": [
            {"id": item.id, "embedding": row}
            for item, row in zip(items, np.round(unit.astype(np.float64), 6).tolist(), strict=True)
        ],
        "extraction": {
            "method": "c-tf-idf",
            "clusterKeywordNgrams": [1, 2],
            "nodeKeywordNgrams": [1, 3],
            "stopWords": ["english", "korean"],
            "nodeKeywordSelection": "mmr" if mmr else "tf-idf",
            "clustering": {
                "method": "pca+hdbscan+spherical-kmeans",
                "nClusters": model.n_clusters_,
                "densityClusters": model.density_clusters_,
                "minClusters": model.min_clusters,
                "maxClusters": model.max_clusters,
            },
            "edges": {"method": "faiss-knn", "k": k, "threshold": threshold},
        },
    }


@tokens_memoized()
def build_graph(
    items: list[SourceItem],
    embeddings: np.ndarray,
    *,
    min_clusters: int = 3,
    max_clusters: int = 8,
    k: int = 5,
    threshold: float = 0.5,
    progress: Progress | None = None,
    embed: Callable[[list[str]], np.ndarray] | None = None,
    scripts: frozenset[str] | None = None,
    max_cluster_share: float = MAX_CLUSTER_SHARE,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Build ``(graph, features)`` for ``items`` with their ``embeddings`` (one row per item).

    ``scripts`` are the scripts the embedding model reads (``Embedder.readable_scripts``);
    texts in other scripts (Korean, for the bundled MiniLM) are placed by their words as well
    (``lexical.item_vectors``). ``None`` takes the embeddings as they are.

    With ``embed`` (the embedding model's encode), node keywords are chosen by maximal
    marginal relevance against each node's embedding; without it, by TF-IDF alone.

    ``progress(stage, fraction)`` is called after "clustering", "edges", "keywords" and
    "subclusters", with increasing fractions ending at 1.0.
    """
    vectors, dense = _unit_rows(items, embeddings)
    ids = [item.id for item in items]

    def report(stage: str, fraction: float) -> None:
        if progress is not None:
            progress(stage, fraction)

    texts = [item_text(item) for item in items]
    unit, lexicon = item_vectors(texts, dense, scripts)
    model = ClusterModel(min_clusters=min_clusters, max_clusters=max_clusters,
                         max_cluster_share=max_cluster_share).fit(unit)
    labels = model.labels_
    report("clustering", 0.25)

    index_edges = knn_edges(unit, labels, k=k, threshold=threshold)
    report("edges", 0.5)

    # MMR compares terms with documents in the embedding model's own space.
    per_node = node_keywords(texts, top_n=NODE_KEYWORDS, embeddings=dense if embed else None,
                             embed=embed, readable=model_reads(texts, scripts))
    per_cluster, names = _cluster_words_and_names(texts, labels, per_node)
    report("keywords", 0.75)

    subclusters: list[dict[str, Any]] = []
    clusters_meta: dict[str, dict[str, Any]] = {}
    for label in range(model.n_clusters_):
        members = np.flatnonzero(labels == label)
        subclusters += _cluster_subclusters(label, members, labels, index_edges, unit, texts,
                                            ids, per_node)
        central = nearest_to_centroid(unit, members, 2)
        clusters_meta[cluster_id(label)] = cluster_entry(
            names.get(label, cluster_name([])), per_cluster.get(label, []),
            [items[i].title for i in central], len(members))
    report("subclusters", 1.0)

    nodes = [
        node_entry(item, cluster_id(int(labels[i])), names.get(int(labels[i]), cluster_name([])),
                   per_node[i], model.confidence_[i])
        for i, item in enumerate(items)
    ]
    edges = [{**e, "source": ids[e["source"]], "target": ids[e["target"]]} for e in index_edges]
    graph = {
        "nodes": nodes,
        "edges": edges,
        "subclusters": subclusters,
        "metadata": {
            "clusters": clusters_meta,
            "clusterCount": count_entry(model),
            "totalNodes": len(nodes),
            "totalEdges": len(edges),
            "createdAt": datetime.now(tz=UTC).isoformat(),
        },
    }
    features = _features(items, unit, int(vectors.shape[1]), model, mmr=embed is not None,
                         k=k, threshold=threshold)
    if lexicon is not None:
        # Node vectors are [dense, lexical]; add-node projects new items with this lexicon.
        features["lexicon"] = lexicon.to_json()
    return graph, features
