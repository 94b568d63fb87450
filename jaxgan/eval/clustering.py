"""Clustering-quality metrics for a ClusterGAN encoder, and GMM sampling of its latent space.

* `contingency`, `purity`, `hungarian_accuracy`, `scores`: compare predicted cluster ids with true
  class labels (purity, Hungarian-matched accuracy, NMI, ARI).
* `encoder_clustering`: the ClusterGAN evaluation. The encoder maps an image to (ẑ_n, ℓ); clusters
  are read off either by the cheap rule argmax ℓ or by K-Means on [ẑ_n, softmax(ℓ)].
* `fit_latent_gmm`, `sample_latent_gmm`: "ClusterGAN with GMM sampling" — fit a Gaussian mixture on
  the encoded [ẑ_n, ℓ], map each component to a class, and draw new latents z = [z_n, one-hot]
  with z_n from the component's noise marginal.

Pure numpy / scipy / scikit-learn; nothing here touches JAX.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.special import softmax
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.mixture import GaussianMixture

DEFAULT_ACTIVE_VALUES = (0.9, 1.0, 1.1, 1.2)
DEFAULT_ACTIVE_FRACTIONS = (0.3, 0.3, 0.2, 0.2)


def _check_labels(name: str, labels: np.ndarray) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {labels.shape}")
    if labels.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.issubdtype(labels.dtype, np.integer):
        if not (np.issubdtype(labels.dtype, np.floating) and np.all(labels == np.round(labels))):
            raise ValueError(f"{name} must hold integers, got dtype {labels.dtype}")
    labels = labels.astype(np.int64)
    if labels.min() < 0:
        raise ValueError(f"{name} must be non-negative, got min {labels.min()}")
    return labels


def _check_pair(pred: np.ndarray, true: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred = _check_labels("pred", pred)
    true = _check_labels("true", true)
    if pred.shape != true.shape:
        raise ValueError(f"pred and true differ in length: {pred.shape[0]} vs {true.shape[0]}")
    return pred, true


def contingency(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Counts M[c, y] of samples in cluster c with class y, shape (max(pred)+1, max(true)+1)."""
    pred, true = _check_pair(pred, true)
    m = np.zeros((pred.max() + 1, true.max() + 1), dtype=np.int64)
    np.add.at(m, (pred, true), 1)
    return m


def purity(pred: np.ndarray, true: np.ndarray) -> float:
    """Fraction of samples in their cluster's majority class: Σ_c max_y M[c, y] / N.

    Several clusters may share a majority class, so purity is an upper bound on the accuracy.
    """
    m = contingency(pred, true)
    return float(m.max(axis=1).sum() / m.sum())


def hungarian_accuracy(pred: np.ndarray, true: np.ndarray) -> float:
    """Accuracy under the best one-to-one matching of clusters to classes (Hungarian algorithm).

    Unmatched clusters (when there are more clusters than classes, or vice versa) count as wrong.
    """
    m = contingency(pred, true)
    rows, cols = linear_sum_assignment(m, maximize=True)
    return float(m[rows, cols].sum() / m.sum())


def scores(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """Purity, Hungarian accuracy, NMI and ARI of a clustering against the true labels."""
    pred, true = _check_pair(pred, true)
    return {
        "purity": purity(pred, true),
        "accuracy": hungarian_accuracy(pred, true),
        "nmi": float(normalized_mutual_info_score(true, pred)),
        "ari": float(adjusted_rand_score(true, pred)),
    }


def kmeans_labels(features: np.ndarray, n_clusters: int, seed: int = 0) -> np.ndarray:
    """K-Means (10 restarts, k-means++) cluster ids of `features` (N, D), as int32."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2:
        raise ValueError(f"features must be (N, D), got shape {features.shape}")
    if not 1 <= n_clusters <= features.shape[0]:
        raise ValueError(f"n_clusters must be in [1, N = {features.shape[0]}], got {n_clusters}")
    km = KMeans(n_clusters=n_clusters, random_state=seed, n_init=10)
    return km.fit_predict(features).astype(np.int32)


def _check_latents(noise: np.ndarray, logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    noise = np.asarray(noise, dtype=np.float64)
    logits = np.asarray(logits, dtype=np.float64)
    if noise.ndim != 2:
        raise ValueError(f"noise must be (N, d_n), got shape {noise.shape}")
    if logits.ndim != 2 or logits.shape[1] < 1:
        raise ValueError(f"logits must be (N, K) with K >= 1, got shape {logits.shape}")
    if noise.shape[0] != logits.shape[0]:
        raise ValueError(f"noise and logits differ in N: {noise.shape[0]} vs {logits.shape[0]}")
    if noise.shape[0] == 0:
        raise ValueError("no samples")
    return noise, logits


def encoder_clustering(
    noise: np.ndarray,
    logits: np.ndarray,
    labels: np.ndarray,
    num_clusters: int | None = None,
) -> dict[str, dict[str, float]]:
    """ClusterGAN clustering scores of encoded data: {"argmax": ..., "kmeans": ...}.

    noise: ẑ_n (N, d_n), d_n may be 0; logits: ℓ (N, K); labels: true classes (N,).
    "argmax" clusters by argmax ℓ; "kmeans" runs K-Means on [ẑ_n, softmax(ℓ)] with
    `num_clusters` clusters, by default max(K, number of distinct labels).
    """
    noise, logits = _check_latents(noise, logits)
    labels = _check_labels("labels", labels)
    if labels.shape[0] != noise.shape[0]:
        raise ValueError(f"labels has {labels.shape[0]} entries, latents have {noise.shape[0]}")
    if num_clusters is None:
        num_clusters = max(logits.shape[1], np.unique(labels).size)
    features = np.concatenate([noise, softmax(logits, axis=1)], axis=1)
    return {
        "argmax": scores(np.argmax(logits, axis=1), labels),
        "kmeans": scores(kmeans_labels(features, num_clusters), labels),
    }


class LatentGMM(NamedTuple):
    """Noise marginals of a GMM fitted on [ẑ_n, ℓ], with each component's class.

    means (C, d_n), covs (C, d_n, d_n), classes (C,) int, weights (C,) mixture weights.
    """

    means: np.ndarray
    covs: np.ndarray
    classes: np.ndarray
    weights: np.ndarray


def _map_components(logit_means: np.ndarray) -> np.ndarray:
    """Greedy one-to-one component -> class map from the logit part of each component's mean.

    Components are visited by ascending max logit; each takes its largest logit among the classes
    not yet taken, so the least confident components choose first.
    """
    order = np.argsort(logit_means.max(axis=1), kind="stable")
    available = np.ones(logit_means.shape[1], dtype=bool)
    classes = np.empty(logit_means.shape[0], dtype=np.int64)
    for c in order:
        k = int(np.argmax(np.where(available, logit_means[c], -np.inf)))
        classes[c] = k
        available[k] = False
    return classes


def fit_latent_gmm(
    noise: np.ndarray, logits: np.ndarray, num_components: int = 10, seed: int = 42
) -> LatentGMM:
    """Fit a full-covariance GMM on [ẑ_n, ℓ] (raw logits) and keep its noise part.

    Each component is mapped to a distinct class (see `_map_components`), so `num_components`
    may not exceed the number of classes K.
    """
    noise, logits = _check_latents(noise, logits)
    n, d_n = noise.shape
    k = logits.shape[1]
    if num_components < 1:
        raise ValueError(f"num_components must be >= 1, got {num_components}")
    if num_components > k:
        raise ValueError(
            f"num_components = {num_components} exceeds the number of classes K = {k}; "
            "each component needs its own class"
        )
    if num_components > n:
        raise ValueError(f"num_components = {num_components} exceeds the number of samples {n}")
    features = np.concatenate([noise, logits], axis=1)
    gmm = GaussianMixture(n_components=num_components, covariance_type="full", random_state=seed)
    gmm.fit(features)
    return LatentGMM(
        means=gmm.means_[:, :d_n].copy(),
        covs=gmm.covariances_[:, :d_n, :d_n].copy(),
        classes=_map_components(gmm.means_[:, d_n:]),
        weights=gmm.weights_.copy(),
    )


def _split(n: int, parts: int) -> np.ndarray:
    """n split into `parts` near-equal counts, the remainder going to the first ones."""
    counts = np.full(parts, n // parts, dtype=np.int64)
    counts[: n % parts] += 1
    return counts


def _active_counts(m: int, fractions: np.ndarray) -> np.ndarray:
    """Counts of m samples per active value: rounded (half up) fractions, remainder to the last.

    Counts are capped so they never exceed what is left, hence always sum to m.
    """
    counts = np.zeros(fractions.size, dtype=np.int64)
    left = m
    for i, f in enumerate(fractions[:-1]):
        counts[i] = min(int(np.floor(f * m + 0.5)), left)
        left -= counts[i]
    counts[-1] = left
    return counts


def sample_latent_gmm(
    gmm: LatentGMM,
    n: int,
    num_classes: int,
    rng: np.random.Generator,
    active_values: Sequence[float] = DEFAULT_ACTIVE_VALUES,
    active_fractions: Sequence[float] = DEFAULT_ACTIVE_FRACTIONS,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw n latents z = [z_n, one-hot] from a `LatentGMM`: (z (n, d_n + K) f32, labels (n,) i32).

    n is split equally over components (remainder to the first ones); within a component
    z_n ~ N(mean_c, cov_c) and the one-hot of its class has active entry drawn from
    `active_values` in `active_fractions` (counts rounded, remainder to the last value).
    Samples come out grouped by component, and by active value within a component.
    """
    means = np.asarray(gmm.means, dtype=np.float64)
    covs = np.asarray(gmm.covs, dtype=np.float64)
    classes = np.asarray(gmm.classes)
    if means.ndim != 2 or means.shape[0] < 1:
        raise ValueError(f"gmm.means must be (C, d_n) with C >= 1, got shape {means.shape}")
    c, d_n = means.shape
    if covs.shape != (c, d_n, d_n):
        raise ValueError(f"gmm.covs must have shape {(c, d_n, d_n)}, got {covs.shape}")
    if classes.shape != (c,):
        raise ValueError(f"gmm.classes must have shape {(c,)}, got {classes.shape}")
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if classes.min() < 0 or classes.max() >= num_classes:
        raise ValueError(f"gmm.classes must lie in [0, num_classes = {num_classes})")
    values = np.asarray(active_values, dtype=np.float64)
    fractions = np.asarray(active_fractions, dtype=np.float64)
    if values.ndim != 1 or values.size == 0 or values.shape != fractions.shape:
        raise ValueError(
            f"active_values and active_fractions must be non-empty and of equal length, got "
            f"{values.size} and {fractions.size}"
        )
    if np.any(fractions < 0) or not np.isclose(fractions.sum(), 1.0):
        raise ValueError(
            f"active_fractions must be non-negative and sum to 1, got {fractions.tolist()}"
        )

    z = np.zeros((n, d_n + num_classes), dtype=np.float32)
    labels = np.empty(n, dtype=np.int32)
    start = 0
    for comp, m in enumerate(_split(n, c)):
        rows = slice(start, start + m)
        if d_n > 0 and m > 0:
            z[rows, :d_n] = rng.multivariate_normal(means[comp], covs[comp], size=m)
        z[rows, d_n + classes[comp]] = np.repeat(values, _active_counts(int(m), fractions))
        labels[rows] = classes[comp]
        start += m
    return z, labels
