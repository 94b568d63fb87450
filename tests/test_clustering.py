"""Tests for jaxgan.eval.clustering (numpy / scipy / scikit-learn only, fast)."""

from __future__ import annotations

import numpy as np
import pytest

from jaxgan.eval.clustering import (
    LatentGMM,
    contingency,
    encoder_clustering,
    fit_latent_gmm,
    hungarian_accuracy,
    kmeans_labels,
    purity,
    sample_latent_gmm,
    scores,
)


def _blobs(rng, centers, per, scale=0.05):
    centers = np.asarray(centers, dtype=np.float64)
    x = np.concatenate([c + scale * rng.standard_normal((per, centers.shape[1])) for c in centers])
    y = np.repeat(np.arange(len(centers)), per)
    return x, y


def test_contingency_small():
    pred = np.array([0, 0, 1, 2, 2, 2])
    true = np.array([1, 1, 0, 0, 1, 3])
    m = contingency(pred, true)
    expected = np.array([[0, 2, 0, 0], [1, 0, 0, 0], [1, 1, 0, 1]])
    np.testing.assert_array_equal(m, expected)
    assert m.sum() == pred.size


def test_perfect_clustering_with_permuted_ids():
    true = np.repeat(np.arange(4), 5)
    perm = np.array([2, 0, 3, 1])
    pred = perm[true] + 5  # relabelled and shifted cluster ids
    s = scores(pred, true)
    assert set(s) == {"purity", "accuracy", "nmi", "ari"}
    for key, v in s.items():
        assert isinstance(v, float), key
        assert v == pytest.approx(1.0), key


def test_purity_exceeds_accuracy_by_hand():
    # Clusters 0 and 1 both have majority class 0; cluster 2 is pure class 1.
    pred = np.array([0, 0, 0, 1, 1, 1, 2, 2])
    true = np.array([0, 0, 2, 0, 0, 2, 1, 1])
    # purity: (2 + 2 + 2) / 8; accuracy: best matching e.g. 0->0, 1->2, 2->1 = (2 + 1 + 2) / 8.
    assert purity(pred, true) == pytest.approx(6 / 8)
    assert hungarian_accuracy(pred, true) == pytest.approx(5 / 8)
    s = scores(pred, true)
    assert s["purity"] >= s["accuracy"]
    assert 0 < s["nmi"] < 1 and s["ari"] < 1


def test_hungarian_more_clusters_than_classes():
    pred = np.array([0, 1, 2, 3])
    true = np.array([0, 0, 1, 1])
    assert purity(pred, true) == 1.0
    assert hungarian_accuracy(pred, true) == pytest.approx(0.5)


def test_kmeans_recovers_blobs():
    rng = np.random.default_rng(0)
    x, y = _blobs(rng, [[0, 0], [5, 0], [0, 5]], per=20)
    pred = kmeans_labels(x, 3)
    assert pred.dtype == np.int32 and pred.shape == y.shape
    assert hungarian_accuracy(pred, y) == 1.0


@pytest.mark.parametrize("d_n", [0, 3])
def test_encoder_clustering_separated(d_n):
    rng = np.random.default_rng(1)
    k, per = 4, 15
    labels = np.repeat(np.arange(k), per)
    logits = 0.1 * rng.standard_normal((k * per, k))
    logits[np.arange(k * per), labels] += 8.0
    noise = 0.05 * rng.standard_normal((k * per, d_n))
    out = encoder_clustering(noise, logits, labels)
    assert set(out) == {"argmax", "kmeans"}
    for rule in ("argmax", "kmeans"):
        assert out[rule]["accuracy"] == 1.0, rule
        assert out[rule]["nmi"] == pytest.approx(1.0), rule


def test_encoder_clustering_num_clusters_default_uses_labels():
    # K = 2 logits but 3 true classes -> K-Means uses 3 clusters and separates them via noise.
    rng = np.random.default_rng(2)
    labels = np.repeat(np.arange(3), 10)
    noise = np.array([[0.0], [10.0], [20.0]])[labels] + 0.01 * rng.standard_normal((30, 1))
    logits = np.zeros((30, 2))
    out = encoder_clustering(noise, logits, labels)
    assert out["kmeans"]["accuracy"] == 1.0
    assert out["argmax"]["accuracy"] == pytest.approx(1 / 3)


def _gmm_data(rng, d_n=2, k=5, per=60):
    # Component i: noise around noise_centers[i], logits peaking at class peaks[i].
    noise_centers = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])[:, :d_n]
    peaks = np.array([3, 0, 4])
    heights = np.array([6.0, 9.0, 12.0])
    noise, logits = [], []
    for i in range(3):
        noise.append(noise_centers[i] + 0.3 * rng.standard_normal((per, d_n)))
        lg = 0.3 * rng.standard_normal((per, k))
        lg[:, peaks[i]] += heights[i]
        logits.append(lg)
    return np.concatenate(noise), np.concatenate(logits), noise_centers, peaks


def test_fit_latent_gmm_maps_components_to_classes():
    rng = np.random.default_rng(3)
    noise, logits, centers, peaks = _gmm_data(rng)
    gmm = fit_latent_gmm(noise, logits, num_components=3)
    assert isinstance(gmm, LatentGMM)
    assert gmm.means.shape == (3, 2) and gmm.covs.shape == (3, 2, 2) and gmm.weights.shape == (3,)
    assert gmm.weights.sum() == pytest.approx(1.0)
    # Identify each fitted component with its true one through its noise mean.
    for mean, cls in zip(gmm.means, gmm.classes, strict=True):
        true_comp = int(np.argmin(np.linalg.norm(centers - mean, axis=1)))
        assert np.linalg.norm(centers[true_comp] - mean) < 0.3
        assert cls == peaks[true_comp]
    assert np.allclose(gmm.covs, 0.09 * np.eye(2), atol=0.05)


def test_fit_latent_gmm_no_noise():
    rng = np.random.default_rng(4)
    noise, logits, _, peaks = _gmm_data(rng, d_n=0)
    gmm = fit_latent_gmm(noise, logits, num_components=3)
    assert gmm.means.shape == (3, 0) and gmm.covs.shape == (3, 0, 0)
    assert sorted(gmm.classes.tolist()) == sorted(peaks.tolist())
    z, labels = sample_latent_gmm(gmm, 10, 5, np.random.default_rng(0))
    assert z.shape == (10, 5)
    np.testing.assert_array_equal(np.argmax(z, axis=1), labels)


def test_greedy_map_resolves_conflicts():
    # Two components both peak at class 1; the less confident one (lower max) chooses first.
    rng = np.random.default_rng(5)
    per, k = 80, 3
    noise = np.concatenate([rng.normal(0, 0.2, (per, 1)), rng.normal(10, 0.2, (per, 1))])
    lg = 0.1 * rng.standard_normal((2 * per, k))
    lg[:per, 1] += 4.0  # weak component: takes class 1
    lg[:per, 2] += 3.0
    lg[per:, 1] += 9.0  # strong component: class 1 taken, falls back to its next largest
    lg[per:, 0] += 5.0
    gmm = fit_latent_gmm(noise, lg, num_components=2)
    weak = int(np.argmin(gmm.means[:, 0]))
    assert gmm.classes[weak] == 1
    assert gmm.classes[1 - weak] == 0


def _toy_gmm():
    return LatentGMM(
        means=np.array([[0.0, 0.0], [100.0, 0.0], [0.0, 100.0]]),
        covs=np.stack([np.eye(2)] * 3),
        classes=np.array([2, 0, 5]),
        weights=np.full(3, 1 / 3),
    )


def test_sample_latent_gmm_shapes_counts_values():
    gmm, k = _toy_gmm(), 6
    z, labels = sample_latent_gmm(gmm, 32, k, np.random.default_rng(0))
    assert z.shape == (32, 2 + k) and z.dtype == np.float32
    assert labels.shape == (32,) and labels.dtype == np.int32
    # 32 = 11 + 11 + 10, remainder to the first components.
    np.testing.assert_array_equal(labels, np.repeat([2, 0, 5], [11, 11, 10]))
    onehot = z[:, 2:]
    assert np.count_nonzero(onehot, axis=1).tolist() == [1] * 32
    np.testing.assert_array_equal(np.argmax(onehot, axis=1), labels)
    active = onehot.max(axis=1)
    assert np.all(np.isin(active, np.float32([0.9, 1.0, 1.1, 1.2])))
    # round(0.3 m), round(0.3 m), round(0.2 m), rest
    expected = {11: [3, 3, 2, 3], 10: [3, 3, 2, 2]}
    for cls, m in zip([2, 0, 5], [11, 11, 10], strict=True):
        vals = active[labels == cls]
        counts = [int(np.sum(vals == np.float32(v))) for v in (0.9, 1.0, 1.1, 1.2)]
        assert counts == expected[m], (cls, counts)
        # Noise drawn around the component's mean.
        mean = gmm.means[[2, 0, 5].index(cls)]
        assert np.all(np.linalg.norm(z[labels == cls, :2] - mean, axis=1) < 10)


def test_sample_latent_gmm_custom_values_and_reproducible():
    gmm = _toy_gmm()
    kw = dict(active_values=(1.0, 2.0), active_fractions=(0.25, 0.75))
    z1, l1 = sample_latent_gmm(gmm, 12, 6, np.random.default_rng(7), **kw)
    z2, l2 = sample_latent_gmm(gmm, 12, 6, np.random.default_rng(7), **kw)
    np.testing.assert_array_equal(z1, z2)
    np.testing.assert_array_equal(l1, l2)
    active = z1[:, 2:].max(axis=1)
    assert np.sum(active == 1.0) == 3 and np.sum(active == 2.0) == 9


def test_errors():
    with pytest.raises(ValueError, match="differ in length"):
        contingency(np.array([0, 1]), np.array([0]))
    with pytest.raises(ValueError, match="non-negative"):
        purity(np.array([0, -1]), np.array([0, 1]))
    with pytest.raises(ValueError, match="integers"):
        scores(np.array([0.5, 1.0]), np.array([0, 1]))
    with pytest.raises(ValueError, match="empty"):
        hungarian_accuracy(np.array([], dtype=int), np.array([], dtype=int))
    with pytest.raises(ValueError, match="n_clusters"):
        kmeans_labels(np.zeros((3, 2)), 4)
    with pytest.raises(ValueError, match="differ in N"):
        encoder_clustering(np.zeros((4, 1)), np.zeros((5, 2)), np.zeros(4, dtype=int))
    with pytest.raises(ValueError, match="labels has"):
        encoder_clustering(np.zeros((4, 1)), np.zeros((4, 2)), np.zeros(3, dtype=int))
    with pytest.raises(ValueError, match="num_components must be >= 1"):
        fit_latent_gmm(np.zeros((10, 1)), np.zeros((10, 3)), num_components=0)
    with pytest.raises(ValueError, match="exceeds the number of classes"):
        fit_latent_gmm(np.zeros((10, 1)), np.zeros((10, 3)), num_components=4)
    with pytest.raises(ValueError, match="logits must be"):
        fit_latent_gmm(np.zeros((10, 1)), np.zeros(10))
    gmm, rng = _toy_gmm(), np.random.default_rng(0)
    with pytest.raises(ValueError, match="sum to 1"):
        sample_latent_gmm(gmm, 5, 6, rng, active_fractions=(0.3, 0.3, 0.2, 0.1))
    with pytest.raises(ValueError, match="equal length"):
        sample_latent_gmm(gmm, 5, 6, rng, active_values=(1.0,))
    with pytest.raises(ValueError, match="num_classes"):
        sample_latent_gmm(gmm, 5, 5, rng)
    with pytest.raises(ValueError, match="covs"):
        sample_latent_gmm(gmm._replace(covs=np.zeros((3, 2))), 5, 6, rng)
