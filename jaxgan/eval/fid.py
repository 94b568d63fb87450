"""Fréchet distance between Gaussians fitted to features, with pytorch-fid's semantics.

`frechet_distance` follows pytorch-fid 0.3.0's `calculate_frechet_distance` (metrics.md §1.7):
SciPy's matrix square root of Σ1Σ2, a retry with ε·I added to both covariances only when that root
is not finite, and a ValueError when its diagonal has an imaginary part above 1e-3. Everything runs
on the host in float64. SciPy ≥ 1.16 deprecates `sqrtm(disp=...)` and 1.18 removes it, so the
finiteness check is done here rather than by SciPy.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy
import scipy.linalg

IMAGINARY_ATOL = 1e-3


def _scipy_version() -> tuple[int, int]:
    major, minor = scipy.__version__.split(".")[:2]
    return int(major), int("".join(ch for ch in minor if ch.isdigit()) or 0)


_SQRTM_HAS_DISP = _scipy_version() < (1, 16)


def _sqrtm(matrix: np.ndarray) -> np.ndarray:
    """`scipy.linalg.sqrtm` as pytorch-fid's `disp=False` call: no printing (SciPy < 1.16), no
    deprecation warning (≥ 1.16), no singularity warning; callers check finiteness."""
    if _SQRTM_HAS_DISP:
        return scipy.linalg.sqrtm(matrix, disp=False)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        return scipy.linalg.sqrtm(matrix)


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased covariance (float64, `np.cov(rowvar=False)`) of (N, D) features.

    Warns when N <= D: the covariance then has rank at most N - 1 < D, so it is singular and the
    distance leans on the ε retry of `frechet_distance`.
    """
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[0] < 2:
        raise ValueError(f"features must be (N, D) with N >= 2, got shape {features.shape}")
    if not np.isfinite(features).all():
        raise ValueError("features contain NaN or Inf")
    n, d = features.shape
    if n <= d:
        warnings.warn(
            f"{n} samples for {d}-dimensional features: the covariance is singular; "
            f"use more than {d} samples for a meaningful Fréchet distance",
            stacklevel=2,
        )
    return features.mean(axis=0), np.cov(features, rowvar=False)


def _as_stats(mu: np.ndarray, sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.atleast_1d(np.asarray(mu, np.float64)), np.atleast_2d(np.asarray(sigma, np.float64))


def frechet_distance(
    mu1: np.ndarray,
    sigma1: np.ndarray,
    mu2: np.ndarray,
    sigma2: np.ndarray,
    eps: float = 1e-6,
) -> float:
    """‖μ1 − μ2‖² + tr(Σ1) + tr(Σ2) − 2·tr((Σ1Σ2)^½), exactly as pytorch-fid computes it."""
    mu1, sigma1 = _as_stats(mu1, sigma1)
    mu2, sigma2 = _as_stats(mu2, sigma2)
    if mu1.shape != mu2.shape:
        raise ValueError(f"mean vectors differ in shape: {mu1.shape} vs {mu2.shape}")
    if sigma1.shape != sigma2.shape or sigma1.shape != (mu1.size, mu1.size):
        raise ValueError(
            f"covariances must both be {(mu1.size, mu1.size)}, "
            f"got {sigma1.shape} and {sigma2.shape}"
        )
    diff = mu1 - mu2
    covmean = _sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        warnings.warn(
            f"Fréchet distance: singular product; adding {eps} to the diagonal of both covariances",
            stacklevel=2,
        )
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = _sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        imaginary = np.abs(np.diagonal(covmean).imag)
        if not np.allclose(imaginary, 0, atol=IMAGINARY_ATOL):
            raise ValueError(f"Imaginary component {imaginary.max()}")
        covmean = covmean.real
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def frechet_distance_eigh(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray
) -> float:
    """The same distance via eigenvalues, for cross-checks: tr((Σ1Σ2)^½) = Σ √λ(Σ1^½ Σ2 Σ1^½).

    Both covariances are symmetric PSD, so two `eigh` calls suffice; tiny negative eigenvalues from
    rounding are clipped to 0. No ε retry and no imaginary-part check are needed on this path.
    """
    mu1, sigma1 = _as_stats(mu1, sigma1)
    mu2, sigma2 = _as_stats(mu2, sigma2)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError("statistics differ in shape")
    values, vectors = np.linalg.eigh(sigma1)
    root1 = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    middle = root1 @ sigma2 @ root1
    eigenvalues = np.linalg.eigvalsh((middle + middle.T) / 2)
    trace_covmean = np.sqrt(np.clip(eigenvalues, 0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_covmean)
