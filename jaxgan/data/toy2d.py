"""2-D toy mixtures for measuring mode coverage, and their mode metrics (`latent_priors.md` §5).

- `ring8`: 8 equal-weight Gaussians on a circle of radius 2 at angles 2πi/8, i = 0..7, std 0.02
  (the Unrolled-GAN setting; §5.4 and decision 16 of §9).
- `grid25`: 25 equal-weight Gaussians with means {−4, −2, 0, 2, 4}², std 0.05 (§5.4).

The interface mirrors `load_mnist`: a loader returns `(points, labels)` as numpy arrays, float32
(n, 2) and int32 (n,), the label being the index of the mode that drew the point. The metrics
(§5.5, VEEGAN/PacGAN) are pure numpy: a sample is "high quality" if it lies within 3 std of its
nearest mode mean, and a mode is "covered" if it is the nearest mode of at least one such sample.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

RING_MODES = 8
RING_RADIUS = 2.0
RING_STD = 0.02
GRID_VALUES = (-4.0, -2.0, 0.0, 2.0, 4.0)
GRID_STD = 0.05
HIGH_QUALITY_STDS = 3.0


def _ring_centres() -> np.ndarray:
    theta = 2.0 * np.pi * np.arange(RING_MODES) / RING_MODES  # no endpoint: 8 distinct modes
    return RING_RADIUS * np.stack([np.cos(theta), np.sin(theta)], axis=1)


def _grid_centres() -> np.ndarray:
    xs, ys = np.meshgrid(GRID_VALUES, GRID_VALUES, indexing="ij")
    return np.stack([xs.ravel(), ys.ravel()], axis=1)


# name -> (centres (K, 2) float64, std of every component)
_TOYS: dict[str, tuple[Callable[[], np.ndarray], float]] = {
    "ring8": (_ring_centres, RING_STD),
    "grid25": (_grid_centres, GRID_STD),
}
TOY2D_NAMES = tuple(_TOYS)


def _spec(name: str) -> tuple[np.ndarray, float]:
    if name not in _TOYS:
        raise ValueError(f"unknown 2-D toy dataset {name!r}; valid names: {', '.join(_TOYS)}")
    make, std = _TOYS[name]
    return make(), std


def centres(name: str) -> np.ndarray:
    """The mode means of toy `name`, float32 (K, 2), in label order."""
    return _spec(name)[0].astype(np.float32)


def std(name: str) -> float:
    """The per-coordinate standard deviation shared by every mode of toy `name`."""
    return _spec(name)[1]


def load_toy2d(name: str, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`n` points of toy `name`: float32 (n, 2) points and int32 (n,) mode labels, seeded.

    Modes are drawn with equal weights (labels ~ uniform), then each point is its mode mean plus
    isotropic Gaussian noise. The same `(name, n, seed)` always gives the same arrays.
    """
    means, sigma = _spec(name)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(means), size=n).astype(np.int32)
    points = means[labels] + sigma * rng.standard_normal((n, 2))
    return points.astype(np.float32), labels


def ring8(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`load_toy2d("ring8", n, seed)`: 8 Gaussians on a circle of radius 2, std 0.02."""
    return load_toy2d("ring8", n, seed)


def grid25(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`load_toy2d("grid25", n, seed)`: a 5×5 grid of Gaussians at {−4,…,4}², std 0.05."""
    return load_toy2d("grid25", n, seed)


# ---------------------------------------------------------------------------------------------
# Mode metrics (§5.5)
# ---------------------------------------------------------------------------------------------


def assign_modes(
    samples: np.ndarray, means: np.ndarray, sigma: float, threshold: float = HIGH_QUALITY_STDS
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest mode of each sample (int (n,)) and whether it is high quality (bool (n,)).

    With isotropic modes the nearest mean by Euclidean and by Mahalanobis distance agree; a sample
    is high quality when its distance to that mean is at most `threshold * sigma`.
    """
    samples = np.asarray(samples, dtype=np.float64)
    means = np.asarray(means, dtype=np.float64)
    if samples.ndim != 2 or samples.shape[1] != means.shape[1]:
        raise ValueError(f"samples must be (n, {means.shape[1]}), got {samples.shape}")
    nearest = np.empty(len(samples), dtype=np.int64)
    dist = np.empty(len(samples), dtype=np.float64)
    for start in range(0, len(samples), 65536):  # bounded memory for large n
        chunk = samples[start : start + 65536]
        d2 = ((chunk[:, None, :] - means[None, :, :]) ** 2).sum(-1)
        idx = d2.argmin(axis=1)
        nearest[start : start + len(chunk)] = idx
        dist[start : start + len(chunk)] = np.sqrt(d2[np.arange(len(chunk)), idx])
    return nearest, dist <= threshold * sigma


def mode_metrics(
    samples: np.ndarray, name: str, threshold: float = HIGH_QUALITY_STDS
) -> dict[str, float | int | np.ndarray]:
    """VEEGAN/PacGAN mode metrics of generated `samples` (n, 2) against toy `name`.

    Returns:
      modes_covered: modes that are the nearest mode of at least one high-quality sample.
      num_modes: K, the number of modes of the toy.
      high_quality_fraction: fraction of samples within `threshold` std of their nearest mean.
      counts: int (K,) high-quality samples per mode.
      kl_to_uniform: KL(p̂ ‖ U) of the high-quality per-mode distribution (0 = balanced;
        NaN when there is no high-quality sample), the direction of decision 18 of §9.
      entropy: H(p̂) in nats (log K = balanced; NaN when there is no high-quality sample).
    """
    means, sigma = _spec(name)
    nearest, good = assign_modes(samples, means, sigma, threshold)
    k = len(means)
    counts = np.bincount(nearest[good], minlength=k)
    total = counts.sum()
    if total:
        p = counts[counts > 0] / total
        entropy = float(-(p * np.log(p)).sum())
        kl = float((p * np.log(p * k)).sum())
    else:
        entropy = kl = float("nan")
    return {
        "modes_covered": int((counts > 0).sum()),
        "num_modes": k,
        "high_quality_fraction": float(good.mean()) if len(good) else float("nan"),
        "counts": counts,
        "kl_to_uniform": kl,
        "entropy": entropy,
    }
