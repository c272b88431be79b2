"""ClusterModel on synthetic topic blobs on the 384-d unit sphere."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import normalized_mutual_info_score

from tasks.pipeline.clustering import (
    COUNT_MARGIN_HIGH,
    COUNT_MARGIN_MEDIUM,
    MAX_CLUSTER_SHARE,
    ClusterModel,
    auto_min_cluster_size,
    balance,
    compact,
    count_confidence,
    merge_to,
    readable_count,
    softmax_confidence,
    spherical_kmeans,
    split_once,
)


def sphere_blobs(
    n: int, k: int, std: float = 1.5, seed: int = 0, dim: int = 384, offset: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs projected on the unit sphere (within-topic cosine ~0.15 at std 1.5).

    ``offset`` adds a direction shared by every point, like the common component real
    sentence embeddings have (all their pairwise cosines are positive).
    """
    x, y = make_blobs(
        n_samples=n, n_features=dim, centers=k, cluster_std=std, center_box=(-1, 1),
        random_state=seed,
    )
    x = x + offset * np.sqrt(dim) * np.ones(dim) / np.sqrt(dim)
    return x / np.linalg.norm(x, axis=1, keepdims=True), y


@pytest.mark.parametrize(("k", "seed"), [(3, 0), (5, 1), (7, 2)])
def test_recovers_well_separated_blobs(k, seed):
    x, y = sphere_blobs(60 * k, k, seed=seed, offset=3.0)
    model = ClusterModel().fit(x)
    assert model.n_clusters_ == k
    assert normalized_mutual_info_score(y, model.labels_) > 0.9
    assert model.labels_.dtype.kind == "i" and model.labels_.min() == 0
    assert set(np.unique(model.labels_)) == set(range(k))
    assert np.all((model.confidence_ >= 0) & (model.confidence_ <= 1))


def test_labels_are_numbered_by_descending_size():
    sizes = [200, 120, 60]
    x, y = make_blobs(n_samples=sizes, n_features=384, cluster_std=1.0, center_box=(-1, 1),
                      random_state=3)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    labels = ClusterModel().fit_predict(x)
    assert np.bincount(labels).tolist() == sizes
    assert normalized_mutual_info_score(y, labels) > 0.95


def test_too_many_topics_are_merged_down_to_max_clusters():
    x, y = sphere_blobs(600, 10, std=1.0, seed=4)
    model = ClusterModel(min_clusters=3, max_clusters=6).fit(x)
    assert model.n_clusters_ == 6
    # Merging keeps blobs whole: each blob lands (almost) entirely in one cluster.
    purity = [np.bincount(model.labels_[y == b]).max() / np.sum(y == b) for b in range(10)]
    assert min(purity) > 0.9


def test_too_few_topics_are_split_up_to_min_clusters():
    x, _ = sphere_blobs(300, 2, seed=5)
    model = ClusterModel(min_clusters=4, max_clusters=8).fit(x)
    assert model.n_clusters_ == 4
    assert np.bincount(model.labels_).min() > 10


def test_points_between_topics_get_a_label_but_lower_confidence():
    x, y = sphere_blobs(300, 3, std=1.0, seed=6)
    rng = np.random.default_rng(0)
    # Texts that mix two topics: the normalised mean of two points from different blobs.
    a = rng.choice(np.flatnonzero(y == 0), 20)
    b = rng.choice(np.flatnonzero(y != 0), 20)
    between = x[a] + x[b]
    between /= np.linalg.norm(between, axis=1, keepdims=True)
    model = ClusterModel().fit(np.vstack([x, between]))
    assert model.n_clusters_ == 3
    assert len(model.labels_) == 320 and model.labels_.min() >= 0
    assert model.noise_mask_[300:].mean() > 0.8
    assert model.confidence_[300:].mean() < 0.5 < model.confidence_[:300].mean()


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5, 9])
def test_tiny_inputs(n):
    x, _ = sphere_blobs(max(n, 1), 1, seed=n)
    model = ClusterModel().fit(x[:n])
    assert len(model.labels_) == n == len(model.confidence_)
    if n:
        assert 1 <= model.n_clusters_ <= n
        assert set(model.labels_) == set(range(model.n_clusters_))
        assert np.all((model.confidence_ >= 0) & (model.confidence_ <= 1))
    if 0 < n <= 3:
        assert model.n_clusters_ == n  # fewer items than min_clusters: each its own cluster
    if n > 3:
        assert 3 <= model.n_clusters_ <= 8


def test_identical_points_do_not_crash_and_stay_together():
    x = np.tile(np.eye(384)[0], (20, 1))
    model = ClusterModel().fit(x)
    assert model.n_clusters_ == 1 and np.all(model.labels_ == 0)


def test_invalid_parameters_and_shapes_are_rejected():
    with pytest.raises(ValueError, match="min_clusters"):
        ClusterModel(min_clusters=5, max_clusters=3).fit(np.eye(10))
    with pytest.raises(ValueError, match="2-d"):
        ClusterModel().fit(np.ones(5))


def test_is_deterministic():
    x, _ = sphere_blobs(300, 4, seed=7)
    assert np.array_equal(ClusterModel().fit_predict(x), ClusterModel().fit_predict(x))


def test_clustering_2225_by_384_recovers_the_blobs():
    """BBC-sized input; its speed is measured in benchmarks/, not here (timings flake)."""
    x, y = sphere_blobs(2225, 5, std=2.0, seed=8, offset=3.0)
    model = ClusterModel().fit(x)
    assert normalized_mutual_info_score(y, model.labels_) > 0.9


# Small pure helpers.

def test_auto_min_cluster_size():
    assert auto_min_cluster_size(2225, 3) == 47
    assert auto_min_cluster_size(9, 3) == 3
    assert auto_min_cluster_size(4, 3) == 2


def test_compact_orders_by_size_then_first_appearance():
    assert compact(np.array([7, 2, 2, 9, 9, 9, 7])).tolist() == [1, 2, 2, 0, 0, 0, 1]


def test_spherical_kmeans_keeps_k_clusters_when_one_would_empty():
    x = np.repeat(np.eye(3), 4, axis=0)
    start = np.array([0] * 12)
    start[-1] = 1
    labels = spherical_kmeans(x, start, 3)
    assert len(np.unique(labels)) == 3


def test_merge_and_split():
    x = np.repeat(np.eye(4), 5, axis=0) + 0.01
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    labels = np.repeat(np.arange(4), 5)
    merged = merge_to(x, labels, 2)
    assert len(np.unique(merged)) == 2
    split = split_once(x, np.zeros(20, dtype=np.int64), random_state=0)
    assert split is not None and len(np.unique(split)) == 2
    assert split_once(np.ones((5, 3)) / np.sqrt(3), np.zeros(5, dtype=np.int64), 0) is None


def test_softmax_confidence_is_high_near_a_centroid_and_half_between_two():
    centroids = np.eye(2)
    x = np.array([[1.0, 0.0], [np.sqrt(0.5), np.sqrt(0.5)]])
    conf = softmax_confidence(x, np.array([0, 0]), centroids)
    assert conf[0] > 0.99 and conf[1] == pytest.approx(0.5)


def structureless_cloud(n: int, seed: int = 0, dim: int = 384) -> np.ndarray:
    """A Gaussian cloud around a shared direction, on the sphere: no topics at all."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, dim)) + 0.5 * np.ones(dim)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_data_without_structure_gets_a_readable_count_not_the_minimum():
    # The diffuse chat history: 339 chats where no count beats noise. The minimum (3) would
    # hide most of them in one cluster whatever maxClusters the user asked for.
    x = structureless_cloud(339)
    wide = ClusterModel(min_clusters=3, max_clusters=35).fit(x)
    assert wide.count_source_ == "readable" and wide.count_confidence_ == "low"
    assert wide.n_clusters_ == readable_count(339, 3, 35) == 13
    assert ClusterModel(min_clusters=3, max_clusters=8).fit(x).n_clusters_ == 8
    assert np.bincount(wide.labels_).max() / 339 <= MAX_CLUSTER_SHARE


def test_clear_topics_are_counted_with_high_confidence():
    x, _ = sphere_blobs(300, 5, std=1.0, seed=8, offset=3.0)
    model = ClusterModel(min_clusters=3, max_clusters=35).fit(x)
    assert model.n_clusters_ == 5
    assert model.count_source_ == "structure" and model.count_confidence_ == "high"
    assert model.count_margin_ >= COUNT_MARGIN_HIGH and model.balance_splits_ == 0


def test_a_cluster_over_the_share_is_cut_where_its_pieces_are_coherent():
    x, y = sphere_blobs(400, 4, std=1.0, seed=9)
    # Three blobs lumped together (75 % of the points) beside one blob of their own.
    lumped = np.where(y == 3, 1, 0)
    labels, splits = balance(x, lumped, 0.4, 8, random_state=0)
    assert splits >= 1 and np.bincount(labels).max() <= 0.4 * len(x)
    purity = [np.bincount(labels[y == b]).max() / np.sum(y == b) for b in range(4)]
    assert min(purity) > 0.9
    # A lump with no structure inside stays whole: an arbitrary cut would mislead.
    cloud = structureless_cloud(300, seed=1)
    same = np.zeros(300, dtype=np.int64)
    same[:20] = 1
    assert balance(cloud, same, 0.4, 8, random_state=0)[1] == 0
    # Never past max_clusters.
    assert int(balance(x, lumped, 0.4, 2, random_state=0)[0].max()) == 1


def test_count_confidence_levels():
    assert count_confidence(None) == count_confidence(0.0) == "low"
    assert count_confidence(COUNT_MARGIN_MEDIUM) == "medium"
    assert count_confidence(COUNT_MARGIN_HIGH) == "high"
