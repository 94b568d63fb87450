"""Fréchet distance against pytorch-fid's values (tests/fixtures), closed forms, edge cases."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from jaxgan.eval import fid
from jaxgan.eval.fid import feature_statistics, frechet_distance, frechet_distance_eigh


@pytest.fixture(scope="module")
def cases(shared_fixture):
    with np.load(shared_fixture("frechet_cases.npz")) as data:
        return {k: data[k] for k in data.files}


def _random_stats(rng, n, d):
    x = rng.standard_normal((n, d)) @ rng.standard_normal((d, d)) + rng.standard_normal(d)
    return feature_statistics(x)


@pytest.mark.parametrize("case", ["c0", "c1", "c2"])
def test_matches_pytorch_fid(cases, case):
    mu1, s1, mu2, s2 = (cases[f"{case}_{k}"] for k in ("mu1", "sigma1", "mu2", "sigma2"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        value = frechet_distance(mu1, s1, mu2, s2)
    np.testing.assert_allclose(value, float(cases[f"{case}_fid"]), rtol=1e-6)


def test_identical_statistics_give_zero():
    mu, sigma = _random_stats(np.random.default_rng(0), 2000, 64)
    assert abs(frechet_distance(mu, sigma, mu, sigma)) <= 1e-6 * np.trace(sigma)


def test_diagonal_closed_form_and_rotation_invariance():
    rng = np.random.default_rng(1)
    d = 32
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    a, b = rng.uniform(0.1, 3.0, d), rng.uniform(0.1, 3.0, d)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    np.testing.assert_allclose(
        frechet_distance(mu1, np.diag(a), mu2, np.diag(b)), expected, rtol=1e-10
    )
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    rotated = frechet_distance(q @ mu1, q @ np.diag(a) @ q.T, q @ mu2, q @ np.diag(b) @ q.T)
    np.testing.assert_allclose(rotated, expected, rtol=1e-8)


def test_pytorch_fid_mock_case_and_isotropic():
    d = 256  # pytorch-fid's test uses 2048; sqrtm of 2048² takes seconds and proves nothing more
    assert frechet_distance(np.zeros(d), np.eye(d), np.ones(d), np.eye(d)) == pytest.approx(d)
    np.testing.assert_allclose(
        frechet_distance(np.zeros(8), 4 * np.eye(8), np.zeros(8), 0.25 * np.eye(8)),
        8 * (2 - 0.5) ** 2,
        rtol=1e-12,
    )


def test_symmetric_and_equal_to_eigenvalue_form():
    rng = np.random.default_rng(2)
    mu1, s1 = _random_stats(rng, 500, 48)
    mu2, s2 = _random_stats(rng, 500, 48)
    forward = frechet_distance(mu1, s1, mu2, s2)
    np.testing.assert_allclose(frechet_distance(mu2, s2, mu1, s1), forward, rtol=1e-8)
    np.testing.assert_allclose(frechet_distance_eigh(mu1, s1, mu2, s2), forward, rtol=1e-8)


def test_feature_statistics_float64_unbiased_and_warns_when_singular():
    x = np.random.default_rng(3).standard_normal((50, 4)).astype(np.float32)
    mu, sigma = feature_statistics(x)
    assert mu.dtype == sigma.dtype == np.float64
    np.testing.assert_allclose(sigma, np.cov(x.astype(np.float64), rowvar=False), rtol=1e-12)
    np.testing.assert_allclose(sigma[0, 0], x[:, 0].astype(np.float64).var(ddof=1), rtol=1e-12)
    with pytest.warns(UserWarning, match="singular"):
        feature_statistics(x[:4])
    with pytest.raises(ValueError, match="NaN"):
        feature_statistics(np.full((5, 2), np.nan))


def test_singular_covariances_stay_finite():
    rng = np.random.default_rng(4)
    with pytest.warns(UserWarning):
        mu1, s1 = feature_statistics(rng.standard_normal((20, 64)))
        mu2, s2 = feature_statistics(rng.standard_normal((20, 64)) + 1)
    assert np.isfinite(frechet_distance(mu1, s1, mu2, s2))


def test_offset_retry_when_root_is_not_finite(monkeypatch):
    rng = np.random.default_rng(5)
    mu1, s1 = _random_stats(rng, 200, 8)
    mu2, s2 = _random_stats(rng, 200, 8)
    calls = []
    real_sqrtm = fid._sqrtm

    def failing_once(matrix):
        calls.append(matrix)
        return np.full_like(matrix, np.nan) if len(calls) == 1 else real_sqrtm(matrix)

    monkeypatch.setattr(fid, "_sqrtm", failing_once)
    with pytest.warns(UserWarning, match="adding 1e-06"):
        value = frechet_distance(mu1, s1, mu2, s2)
    offset = np.eye(8) * 1e-6
    np.testing.assert_allclose(calls[1], (s1 + offset) @ (s2 + offset))
    expected = (
        np.sum((mu1 - mu2) ** 2)
        + np.trace(s1)
        + np.trace(s2)
        - 2 * np.trace(real_sqrtm((s1 + offset) @ (s2 + offset)).real)
    )
    np.testing.assert_allclose(value, expected, rtol=1e-12)


def test_large_imaginary_component_raises():
    # sqrtm(diag(-1, 1)) = diag(i, 1): an imaginary diagonal far above the 1e-3 tolerance.
    with pytest.raises(ValueError, match="Imaginary component"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), np.diag([-1.0, 1.0]))


def test_shape_mismatch_raises():
    with pytest.raises(ValueError):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))
