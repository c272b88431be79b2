"""Topic clusters from sentence embeddings, with a guaranteed number of clusters.

HDBSCAN straight on 384-d MiniLM vectors finds almost nothing (distances concentrate: on BBC
News it returns 2 clusters and 86% noise). So ``ClusterModel``:

1. projects the unit vectors onto their top principal components and re-normalises them, where
   density-based clustering works (a fast stand-in for UMAP);
2. runs HDBSCAN there to find the dense topic cores and how many there are;
3. seeds spherical k-means in the full space with those cores, which assigns the noise points
   to their nearest centroid and lets centroids settle;
4. derives one partition per cluster count in ``[min_clusters, max_clusters]`` by merging
   centroids (average-linkage, cosine) or splitting the most spread cluster (2-means), and keeps
   the one whose cosine silhouette most exceeds what the same count reaches on structureless
   data of the same spread (``null_silhouettes``); HDBSCAN's own count wins near-ties.

Plain best silhouette collapses to the minimum count on diffuse data (chat histories): there
silhouette falls with k whether or not the data has more topics, because it falls with k on
noise too. Measured against that noise baseline, a count wins by the structure it finds.

That winning margin is also how sure the count is (``count_confidence_``). Where it is too thin
to trust (no count finds clearly more structure than noise), the smallest count would be an
arbitrary choice that hides most of a person's topics in one cluster, so the count that keeps
clusters readable (``readable_count``: about sqrt(n / 2), within the allowed range) is taken
instead. Last, a cluster holding more than ``max_cluster_share`` of the items is cut into
pieces while they are coherent (more separated than the same cut of structureless data).

Everything here is numpy / scikit-learn / scipy except HDBSCAN, imported where used.
"""

from __future__ import annotations

import numpy as np

from tasks.pipeline.vectors import l2_normalize, mean_direction

#: Softmax temperature over centroid cosine similarities used for per-point confidence.
CONFIDENCE_TEMPERATURE = 0.05
#: Confidence multiplier for points HDBSCAN called noise: they were placed, not found.
NOISE_CONFIDENCE_FACTOR = 0.5
#: Silhouette margin within which HDBSCAN's own cluster count is preferred.
PREFER_DENSITY_MARGIN = 0.005
#: Points used for the silhouette (it is quadratic in n).
SILHOUETTE_SAMPLE = 2000
#: Rows sampled to estimate the spread, points drawn, and principal components of the
#: structureless reference in ``null_silhouettes``.
NULL_SAMPLE = 1000
NULL_POINTS = 600
NULL_COMPONENTS = 384
#: Counts whose excess silhouette is within this share of the best count's tie with it; the
#: smallest of them wins (finer partitions of real clusters score nearly as well).
EXCESS_TOLERANCE = 0.05
REFINE_ITERATIONS = 20
#: Margins of the chosen count's silhouette excess that make its confidence "medium" and
#: "high". Below the first the data holds no clear count: BBC News scores about .10, the
#: bundled chat samples .25 to .39, chatterbot's dialogs .50, a Gaussian cloud about 0.
COUNT_MARGIN_MEDIUM = 0.02
COUNT_MARGIN_HIGH = 0.1
#: Default largest share of the items one cluster may hold before it is split (if coherent).
MAX_CLUSTER_SHARE = 0.4
#: Most pieces a balancing split cuts one cluster into, and the least share of the cluster
#: each piece holds.
MAX_SPLIT_PARTS = 6
MIN_PART_SHARE = 0.05


def auto_min_cluster_size(n: int, min_clusters: int) -> int:
    """About sqrt(n), but small enough that ``min_clusters`` clusters can exist at all."""
    return max(2, min(round(float(np.sqrt(n))), n // max(1, min_clusters)))


def reduce_dimension(x: np.ndarray, n_components: int, random_state: int) -> np.ndarray:
    """PCA to ``n_components`` (bounded by the data), then back onto the unit sphere."""
    from sklearn.decomposition import PCA

    n, d = x.shape
    dims = max(1, min(n_components, d, n - 1))
    reduced = PCA(n_components=dims, random_state=random_state).fit_transform(x)
    return l2_normalize(reduced)


def centroids_of(x: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Unit mean direction of each label ``0..k-1`` (zero vector for an empty label)."""
    onehot = np.zeros((k, len(x)))
    onehot[labels, np.arange(len(x))] = 1.0
    return l2_normalize(onehot @ x)  # a matrix product: np.add.at is ten times slower


def spherical_kmeans(
    x: np.ndarray, labels: np.ndarray, k: int, iterations: int = REFINE_ITERATIONS
) -> np.ndarray:
    """Lloyd iterations on the sphere from an initial labelling; keeps all ``k`` clusters.

    A cluster that empties is re-seeded with the point worst served by its centroid, so the
    count chosen by the caller survives refinement.
    """
    labels = labels.copy()
    for _ in range(iterations):
        centroids = centroids_of(x, labels, k)
        sims = x @ centroids.T
        new = sims.argmax(axis=1)
        counts = np.bincount(new, minlength=k)
        for empty in np.flatnonzero(counts == 0):
            fit = sims[np.arange(len(x)), new]
            donors = counts[new] > 1
            if not donors.any():
                break
            worst = int(np.flatnonzero(donors)[np.argmin(fit[donors])])
            counts[new[worst]] -= 1
            new[worst] = empty
            counts[empty] = 1
        if np.array_equal(new, labels):
            break
        labels = new
    return labels


def compact(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered ``0..k-1`` by descending size (ties: first appearance)."""
    values, first, counts = np.unique(labels, return_index=True, return_counts=True)
    order = np.lexsort((first, -counts))
    mapping = {int(values[old]): new for new, old in enumerate(order)}
    return np.array([mapping[int(v)] for v in labels], dtype=np.int64)


def merge_to(x: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Merge clusters to ``k`` by average-linkage clustering of their centroids (cosine)."""
    from scipy.cluster.hierarchy import cut_tree, linkage

    current = int(labels.max()) + 1
    if current <= k:
        return labels
    centroids = centroids_of(x, labels, current)
    tree = linkage(centroids, method="average", metric="cosine")
    # cut_tree yields exactly k groups even when merge heights tie (fcluster may not).
    groups = cut_tree(tree, n_clusters=k).ravel()
    return compact(groups[labels])


def spread(x: np.ndarray, members: np.ndarray) -> float:
    """Total cosine distance of a cluster's points to their mean direction."""
    centre = mean_direction(x, members)
    return float(np.sum(1.0 - x[members] @ centre))


def kmeans_plus_plus(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Labels from greedy k-means++ seeding on the sphere (cosine distance), as scikit-learn
    seeds: each next seed is the best of ``2 + log(k)`` draws weighted by squared distance to
    the nearest seed so far; points then take their most similar seed."""
    n = len(x)
    trials = 2 + int(np.log(k))
    seeds = [int(rng.integers(n))]
    closest = np.maximum(1.0 - x @ x[seeds[0]], 0.0) ** 2
    for _ in range(1, k):
        total = closest.sum()
        if total <= 0:
            picks = rng.integers(n, size=trials)
        else:
            picks = np.searchsorted(np.cumsum(closest), rng.random(trials) * total)
            picks = np.minimum(picks, n - 1)
        candidates = np.minimum(closest, np.maximum(1.0 - x[picks] @ x.T, 0.0) ** 2)
        best = int(np.argmin(candidates.sum(axis=1)))
        seeds.append(int(picks[best]))
        closest = candidates[best]
    return (x @ x[seeds].T).argmax(axis=1)


def spherical_kmeans_plus_plus(
    x: np.ndarray, k: int, random_state: int, n_init: int = 1
) -> np.ndarray:
    """Spherical k-means from ``n_init`` k-means++ seedings; the labelling whose points are
    most similar to their centroids wins (numpy only: no thread pool to start per call)."""
    rng = np.random.default_rng(random_state)
    best, best_fit = None, -np.inf
    for _ in range(n_init):
        labels = spherical_kmeans(x, kmeans_plus_plus(x, k, rng), k)
        fit = float(np.einsum("ij,ij->", x, centroids_of(x, labels, k)[labels]))
        if fit > best_fit:
            best, best_fit = labels, fit
    return best


def split_once(x: np.ndarray, labels: np.ndarray, random_state: int) -> np.ndarray | None:
    """Split the most spread cluster in two with k-means; ``None`` if nothing can split."""
    k = int(labels.max()) + 1
    spreads = [spread(x, np.flatnonzero(labels == c)) for c in range(k)]
    for c in np.argsort(spreads)[::-1]:
        members = np.flatnonzero(labels == c)
        if len(members) < 2 or spreads[c] <= 1e-9:
            continue
        halves = spherical_kmeans_plus_plus(x[members], 2, random_state, n_init=3)
        if halves.min() == halves.max():
            continue
        out = labels.copy()
        out[members[halves == 1]] = k
        return out
    return None


def softmax_confidence(x: np.ndarray, labels: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Probability of each point's own cluster under a softmax of its centroid similarities."""
    if len(centroids) < 2:
        return np.ones(len(x))
    logits = (x @ centroids.T) / CONFIDENCE_TEMPERATURE
    logits -= logits.max(axis=1, keepdims=True)
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)
    return probs[np.arange(len(x)), labels]


def silhouette_sample(n: int, random_state: int) -> np.ndarray:
    """Row indices the silhouettes of one data set are computed on (all, or a seeded
    ``SILHOUETTE_SAMPLE``), shared by every candidate count so distances are computed once."""
    if n <= SILHOUETTE_SAMPLE:
        return np.arange(n)
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(n, SILHOUETTE_SAMPLE, replace=False))


def cosine_distances(x: np.ndarray) -> np.ndarray:
    """Pairwise cosine distances of unit rows (clipped at 0 against rounding)."""
    return np.maximum(1.0 - x @ x.T, 0.0)


def silhouette_from_distances(distances: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette of ``labels`` over a precomputed distance matrix; -1 when undefined.

    Per point: ``(b - a) / max(a, b)`` with ``a`` its mean distance to the rest of its cluster
    and ``b`` to the nearest other cluster; 0 for a point alone in its cluster (as sklearn).
    """
    n = len(labels)
    values, labels = np.unique(labels, return_inverse=True)
    k = len(values)
    if k < 2 or k >= n:
        return -1.0
    onehot = np.zeros((n, k))
    onehot[np.arange(n), labels] = 1.0
    sums = distances @ onehot
    counts = onehot.sum(axis=0)
    own = counts[labels]
    a = sums[np.arange(n), labels] / np.maximum(own - 1, 1)
    means = sums / counts
    means[np.arange(n), labels] = np.inf
    b = means.min(axis=1)
    score = np.where(own > 1, (b - a) / np.maximum(np.maximum(a, b), 1e-12), 0.0)
    return float(score.mean())


def null_silhouettes(x: np.ndarray, ks: list[int], random_state: int) -> dict[int, float]:
    """Silhouette that spherical k-means reaches at each k on a Gaussian cloud with ``x``'s
    mean and principal variances (no clusters at all), projected onto the sphere."""
    rng = np.random.default_rng(random_state)
    sample = x[rng.choice(len(x), min(len(x), NULL_SAMPLE), replace=False)]
    centre = sample.mean(axis=0)
    _, spread_, axes = np.linalg.svd(sample - centre, full_matrices=False)
    dims = min(NULL_COMPONENTS, len(spread_))
    scale = spread_[:dims] / np.sqrt(max(1, len(sample) - 1))
    # In an orthonormal basis of span(axes, centre): the same cosines, a fraction of the width.
    basis, _ = np.linalg.qr(np.vstack([axes[:dims], centre[None, :]]).T)
    noise = centre @ basis + (rng.normal(size=(NULL_POINTS, dims)) * scale) @ (axes[:dims] @ basis)
    noise = l2_normalize(noise)
    distances = cosine_distances(noise)
    out = {}
    for k in ks:
        if k < 2 or k >= len(noise):
            out[k] = 0.0
            continue
        labels = spherical_kmeans_plus_plus(noise, k, random_state)
        out[k] = silhouette_from_distances(distances, labels)
    return out


def select_count(excess: dict[int, float], density_count: int) -> int:
    """The smallest count whose silhouette excess is within ``EXCESS_TOLERANCE`` of the best;
    HDBSCAN's own count gets a small bonus; the fewest when no count beats noise."""
    scores = dict(excess)
    if density_count in scores:
        scores[density_count] += PREFER_DENSITY_MARGIN
    best = max(scores.values())
    if best <= 0:
        return min(scores)
    floor = best - max(PREFER_DENSITY_MARGIN, EXCESS_TOLERANCE * abs(best))
    return min(k for k, score in scores.items() if score >= floor)


def readable_count(n: int, low: int, high: int) -> int:
    """The count to take when the data says none: about sqrt(n / 2) clusters (the classic rule
    of thumb, 13 for 339 chats), within ``[low, high]``."""
    return int(np.clip(round(np.sqrt(n / 2)), low, high))


def count_confidence(margin: float | None) -> str:
    """``high``, ``medium`` or ``low``: how far the chosen count's structure exceeds noise's."""
    if margin is None or margin < COUNT_MARGIN_MEDIUM:
        return "low"
    return "high" if margin >= COUNT_MARGIN_HIGH else "medium"


def excess_over_noise(x: np.ndarray, candidates: dict[int, np.ndarray],
                      random_state: int) -> dict[int, float]:
    """Each candidate count's silhouette minus what the same count reaches on structureless
    data of ``x``'s spread (``null_silhouettes``)."""
    baseline = null_silhouettes(x, sorted(candidates), random_state)
    rows = silhouette_sample(len(x), random_state)
    distances = cosine_distances(x[rows])
    return {k: silhouette_from_distances(distances, lab[rows]) - baseline[k]
            for k, lab in candidates.items()}


def coherent_split(x: np.ndarray, most_parts: int, random_state: int) -> np.ndarray | None:
    """``x`` (one cluster) cut into 2 to ``most_parts`` pieces by spherical k-means, at the
    count chosen as for the whole (``select_count``), when those pieces are more separated
    than the same cut of structureless data and none is a sliver; else ``None``."""
    parts = {}
    for k in range(2, min(most_parts, MAX_SPLIT_PARTS) + 1):
        labels = spherical_kmeans_plus_plus(x, k, random_state, n_init=3)
        if np.bincount(labels, minlength=k).min() >= max(2, MIN_PART_SHARE * len(x)):
            parts[k] = labels
    if not parts:
        return None
    excess = excess_over_noise(x, parts, random_state)
    k = select_count(excess, 0)
    return parts[k] if excess[k] > 0 else None


def balance(x: np.ndarray, labels: np.ndarray, max_share: float, max_clusters: int,
            random_state: int) -> tuple[np.ndarray, int]:
    """Split the largest cluster while it holds more than ``max_share`` of the points, the
    count stays within ``max_clusters`` and its pieces are coherent; labels, splits made."""
    splits = 0
    while (k := int(labels.max()) + 1) < max_clusters:
        sizes = np.bincount(labels)
        largest = int(sizes.argmax())
        if sizes[largest] <= max_share * len(x):
            break
        members = np.flatnonzero(labels == largest)
        parts = coherent_split(x[members], max_clusters - k + 1, random_state)
        if parts is None:
            break
        labels = labels.copy()
        labels[members[parts > 0]] = k - 1 + parts[parts > 0]
        splits += 1
    return compact(labels), splits


class ClusterModel:
    """Cluster unit embeddings into between ``min_clusters`` and ``max_clusters`` topics.

    Fitted attributes: ``labels_`` (0..k-1 by descending size, no noise label),
    ``confidence_`` (per point, in [0, 1], lower for points HDBSCAN left as noise),
    ``n_clusters_``, ``density_clusters_`` (what HDBSCAN found), ``noise_mask_``,
    ``count_margin_`` (the chosen count's silhouette excess over structureless data; ``None``
    where too few points to measure), ``count_confidence_`` (``count_confidence``),
    ``count_source_`` ("structure", or "readable" when the margin was too thin to choose by),
    ``balance_splits_`` (clusters split for holding more than ``max_cluster_share``).
    """

    def __init__(
        self,
        min_clusters: int = 3,
        max_clusters: int = 8,
        n_components: int = 5,
        min_cluster_size: int | None = None,
        random_state: int = 42,
        min_samples: int = 5,
        max_cluster_share: float = MAX_CLUSTER_SHARE,
    ) -> None:
        self.min_clusters = min_clusters
        self.max_clusters = max_clusters
        self.n_components = n_components
        self.min_cluster_size = min_cluster_size
        self.random_state = random_state
        self.min_samples = min_samples
        self.max_cluster_share = max_cluster_share

    def _check_params(self) -> None:
        if self.min_clusters < 1 or self.max_clusters < self.min_clusters:
            raise ValueError(
                f"need 1 <= min_clusters <= max_clusters, got {self.min_clusters}, "
                f"{self.max_clusters}"
            )
        if not 0.0 < self.max_cluster_share <= 1.0:
            raise ValueError(f"need 0 < max_cluster_share <= 1, got {self.max_cluster_share}")

    def _density_labels(self, x: np.ndarray) -> np.ndarray:
        """HDBSCAN labels (-1 = noise) in the reduced space."""
        import hdbscan

        n = len(x)
        size = self.min_cluster_size or auto_min_cluster_size(n, self.min_clusters)
        size = max(2, min(size, n))
        reduced = reduce_dimension(x, self.n_components, self.random_state)
        model = hdbscan.HDBSCAN(
            min_cluster_size=size, min_samples=max(1, min(self.min_samples, size))
        )
        return model.fit(reduced).labels_.astype(np.int64)

    def _finish(self, x: np.ndarray, labels: np.ndarray, noise: np.ndarray,
                margin: float | None = None, source: str = "structure",
                splits: int = 0) -> ClusterModel:
        self.count_margin_ = margin
        self.count_confidence_ = count_confidence(margin)
        self.count_source_ = source
        self.balance_splits_ = splits
        self.labels_ = compact(labels)
        self.n_clusters_ = int(self.labels_.max()) + 1
        centroids = centroids_of(x, self.labels_, self.n_clusters_)
        confidence = softmax_confidence(x, self.labels_, centroids)
        confidence = np.where(noise, confidence * NOISE_CONFIDENCE_FACTOR, confidence)
        self.confidence_ = np.clip(confidence, 0.0, 1.0)
        self.noise_mask_ = noise
        return self

    def fit(self, embeddings: np.ndarray) -> ClusterModel:
        """Cluster ``embeddings`` (n, d); rows are normalised here, so any scale works."""
        self._check_params()
        x = np.asarray(embeddings, dtype=np.float64)
        if x.ndim != 2:
            raise ValueError(f"embeddings must be 2-d, got shape {x.shape}")
        x = l2_normalize(x)
        n = len(x)
        if n > 0 and float(np.ptp(x, axis=0).max()) < 1e-9:
            # All points identical: nothing to separate (PCA would divide by zero variance).
            self.density_clusters_ = 1
            return self._finish(x, np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool))
        if n == 0:
            self.labels_ = np.zeros(0, dtype=np.int64)
            self.confidence_ = np.zeros(0)
            self.noise_mask_ = np.zeros(0, dtype=bool)
            self.n_clusters_ = 0
            self.density_clusters_ = 0
            self.count_margin_, self.count_confidence_ = None, count_confidence(None)
            self.count_source_, self.balance_splits_ = "structure", 0
            return self
        if n <= self.min_clusters:
            # Too few items to group: each is its own topic.
            self.density_clusters_ = 0
            return self._finish(x, np.arange(n), np.zeros(n, dtype=bool))

        density = self._density_labels(x)
        noise = density < 0
        self.density_clusters_ = int(density.max()) + 1
        if self.density_clusters_ == 0:
            base = np.zeros(n, dtype=np.int64)
        else:
            # Initial centroids from the dense cores only, so noise does not pull them.
            centroids = centroids_of(x[~noise], density[~noise], self.density_clusters_)
            base = (x @ centroids.T).argmax(axis=1)
            base = spherical_kmeans(x, base, self.density_clusters_)
        base = compact(base)
        candidates = self._candidates(x, base)
        best, margin, source = self._choose(x, candidates, base)
        labels, splits = balance(x, candidates[best], self.max_cluster_share,
                                 min(self.max_clusters, n), self.random_state)
        return self._finish(x, labels, noise, margin, source, splits)

    def _choose(self, x: np.ndarray, candidates: dict[int, np.ndarray],
                base: np.ndarray) -> tuple[int, float | None, str]:
        """The count to keep, its margin over noise (``None``: nothing to compare) and why:
        ``select_count``, or ``readable_count`` where no partition beats noise clearly."""
        if len(candidates) == 1:
            return next(iter(candidates)), None, "structure"
        k0 = int(base.max()) + 1
        # HDBSCAN's own partition is measured too when outside the allowed range: data that
        # holds 2 clear topics has structure, though a user asked for 4 or more.
        measured = candidates if k0 in candidates or k0 < 2 else {**candidates, k0: base}
        excess = excess_over_noise(x, measured, self.random_state)
        if max(excess.values()) >= COUNT_MARGIN_MEDIUM:
            best = select_count({k: excess[k] for k in candidates}, k0)
            return best, excess[best], "structure"
        readable = readable_count(len(x), self.min_clusters, self.max_clusters)
        best = min(candidates, key=lambda k: (abs(k - readable), k))
        return best, excess[best], "readable"

    def _candidates(self, x: np.ndarray, base: np.ndarray) -> dict[int, np.ndarray]:
        """One refined partition per reachable cluster count in the allowed range."""
        n = len(x)
        low, high = self.min_clusters, min(self.max_clusters, n)
        k0 = int(base.max()) + 1
        out: dict[int, np.ndarray] = {}
        if low <= k0 <= high:
            out[k0] = base
        for k in range(min(k0 - 1, high), low - 1, -1):
            out[k] = compact(spherical_kmeans(x, merge_to(x, base, k), k))
        labels = base
        for k in range(k0 + 1, high + 1):
            split = split_once(x, labels, self.random_state)
            if split is None:
                break
            labels = compact(spherical_kmeans(x, split, k))
            if k >= low:
                out[k] = labels
        if not out:  # fewer distinct points than min_clusters: the most we could reach
            out[int(labels.max()) + 1] = labels
        return out

    def fit_predict(self, embeddings: np.ndarray) -> np.ndarray:
        """``fit`` and return ``labels_``."""
        return self.fit(embeddings).labels_
