"""k-NN precision, recall, density and coverage of fake features against real ones (metrics.md §5).

* precision (Kynkäänniemi et al. 2019): fraction of fakes inside the real manifold, the union of
  balls around each real sample whose radius is the distance to its k-th nearest real neighbour
  (excluding itself); membership is inclusive, d <= r, as in kynkaat, NVlabs and torch-fidelity.
* recall: fraction of reals inside the fake manifold, built the same way from the fakes.
* density (Naeem et al. 2020): (1/k) · mean over fakes of the number of real balls containing it.
* coverage: fraction of reals whose ball contains at least one fake.
  Density and coverage use the strict d < r of clovaai/generative-evaluation-prdc, so that identical
  sets give density 1 rather than (k + 1)/k.

Distances are never materialised as an N×M matrix: rows are processed `block_size` at a time and
reduced on the fly, so 50k × 50k 2048-d features need about `block_size · 50k · 8` bytes per buffer.
Results do not depend on `block_size`: every squared distance is computed by the same float64 matrix
product on a fixed global tile of `TILE` rows, whatever block it is needed for. Pairs whose expanded
distance ‖x‖² + ‖y‖² − 2x·y is within rounding of zero are recomputed as Σ(x − y)², so exact
duplicates are at distance exactly 0 (a mode-collapsed generator gets recall = #unique / N).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

TILE = 256
DEFAULT_BLOCK_SIZE = 2048
# Expanded squared distances below this fraction of ‖x‖² + ‖y‖² are recomputed directly; the
# expansion's rounding error is ~1e-16 relative, far below it.
_NEAR_ZERO_RTOL = 1e-9
_DIRECT_CHUNK_FLOATS = 1 << 24


def _check_features(name: str, features: np.ndarray, k: int) -> np.ndarray:
    features = np.ascontiguousarray(features, dtype=np.float64)
    if features.ndim != 2:
        raise ValueError(f"{name} features must be (N, D), got shape {features.shape}")
    if features.shape[0] <= k:
        raise ValueError(f"{name}: {features.shape[0]} samples, need more than k = {k}")
    if not np.isfinite(features).all():
        raise ValueError(f"{name} features contain NaN or Inf")
    return features


def _row_blocks(n: int, block_size: int) -> Iterator[tuple[int, int]]:
    if block_size < 1:
        raise ValueError(f"block_size must be >= 1, got {block_size}")
    for start in range(0, n, block_size):
        yield start, min(start + block_size, n)


def _sq_distances(
    x: np.ndarray, x_sq: np.ndarray, y: np.ndarray, y_sq: np.ndarray, start: int, stop: int
) -> np.ndarray:
    """Squared distances of rows x[start:stop] to every row of y; float64, block-invariant."""
    out = np.empty((stop - start, y.shape[0]))
    for tile in range(start - start % TILE, stop, TILE):
        lo, hi = max(tile, start), min(tile + TILE, stop)
        end = min(tile + TILE, x.shape[0])
        if lo == tile and hi == end:
            np.matmul(x[tile:end], y.T, out=out[lo - start : hi - start])
        else:
            out[lo - start : hi - start] = (x[tile:end] @ y.T)[lo - tile : hi - tile]
    out *= -2.0
    out += x_sq[start:stop, None]
    out += y_sq[None, :]
    np.maximum(out, 0.0, out=out)
    # A superset of the pairs within rounding of zero; recomputed exactly as Σ(x − y)².
    near = _NEAR_ZERO_RTOL * (x_sq[start:stop] + y_sq.max())
    rows, cols = np.nonzero(out <= near[:, None])
    chunk = max(1, _DIRECT_CHUNK_FLOATS // x.shape[1])
    for i in range(0, rows.size, chunk):
        r, c = rows[i : i + chunk], cols[i : i + chunk]
        out[r, c] = np.square(x[start + r] - y[c]).sum(axis=1)
    return out


def _sq_norms(x: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", x, x)


def knn_sq_radii(
    features: np.ndarray, ks: Sequence[int], block_size: int = DEFAULT_BLOCK_SIZE
) -> dict[int, np.ndarray]:
    """Squared distance from each sample to its k-th nearest neighbour in the set, excluding itself.

    Returns {k: float64 (N,)} for every k in `ks`, from a single pass over the distances.
    """
    ks = sorted(set(int(k) for k in ks))
    if not ks or ks[0] < 1:
        raise ValueError(f"k must be >= 1, got {ks}")
    x = _check_features("feature", features, ks[-1])
    x_sq = _sq_norms(x)
    radii = {k: np.empty(x.shape[0]) for k in ks}
    for start, stop in _row_blocks(x.shape[0], block_size):
        d = _sq_distances(x, x_sq, x, x_sq, start, stop)
        d[np.arange(stop - start), np.arange(start, stop)] = 0.0
        # Position 0 of the sorted row is the sample itself (distance 0), so position k is its
        # k-th neighbour; duplicates at distance 0 count as neighbours.
        d.partition(ks, axis=1)
        for k in ks:
            radii[k][start:stop] = d[:, k]
    return radii


def manifold_metrics(
    real: np.ndarray,
    fake: np.ndarray,
    k_pr: int = 3,
    k_dc: int = 5,
    block_size: int = DEFAULT_BLOCK_SIZE,
    real_sq_radii: dict[int, np.ndarray] | None = None,
) -> dict[str, float]:
    """Precision and recall at k = `k_pr`, density and coverage at k = `k_dc`, in one pass.

    `real_sq_radii` may hold precomputed `knn_sq_radii(real, ...)` (e.g. from a reference cache);
    it must contain both k values.
    """
    real = _check_features("real", real, max(k_pr, k_dc))
    fake = _check_features("fake", fake, k_pr)
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"feature dimensions differ: real {real.shape[1]}, fake {fake.shape[1]}")
    if real_sq_radii is None:
        real_sq_radii = knn_sq_radii(real, (k_pr, k_dc), block_size)
    r_pr = np.asarray(real_sq_radii[k_pr], np.float64)
    r_dc = np.asarray(real_sq_radii[k_dc], np.float64)
    if r_pr.shape != (real.shape[0],) or r_dc.shape != (real.shape[0],):
        raise ValueError("real_sq_radii do not match the real features")
    f_pr = knn_sq_radii(fake, (k_pr,), block_size)[k_pr]

    real_sq, fake_sq = _sq_norms(real), _sq_norms(fake)
    fake_in_real = np.zeros(fake.shape[0], bool)
    balls_per_fake = np.zeros(fake.shape[0], np.int64)
    real_in_fake = np.empty(real.shape[0], bool)
    real_covered = np.empty(real.shape[0], bool)
    for start, stop in _row_blocks(real.shape[0], block_size):
        d = _sq_distances(real, real_sq, fake, fake_sq, start, stop)
        fake_in_real |= (d <= r_pr[start:stop, None]).any(axis=0)
        inside = d < r_dc[start:stop, None]
        balls_per_fake += inside.sum(axis=0)
        real_covered[start:stop] = inside.any(axis=1)
        real_in_fake[start:stop] = (d <= f_pr[None, :]).any(axis=1)
    return {
        "precision": float(fake_in_real.mean()),
        "recall": float(real_in_fake.mean()),
        "density": float(balls_per_fake.sum() / (k_dc * fake.shape[0])),
        "coverage": float(real_covered.mean()),
    }


def prdc(
    real: np.ndarray, fake: np.ndarray, k: int = 5, block_size: int = DEFAULT_BLOCK_SIZE
) -> dict[str, float]:
    """Precision, recall, density and coverage, all with the same k."""
    return manifold_metrics(real, fake, k_pr=k, k_dc=k, block_size=block_size)
