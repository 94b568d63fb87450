"""Precision/recall/density/coverage against clovaai prdc (tests/fixtures) and brute force."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from jaxgan.eval.prdc import knn_sq_radii, manifold_metrics, prdc

BLOCK_SIZES = (1, 7, 256, 257, 600, 4096)
METRICS = ("precision", "recall", "density", "coverage")


@pytest.fixture(scope="module")
def cases(shared_fixture):
    with np.load(shared_fixture("prdc_cases.npz")) as data:
        return {k: data[k] for k in data.files}


def _oracle(real, fake, k_pr, k_dc):
    """Full distance matrices; P/R inclusive, D/C strict (metrics.md §5)."""
    real, fake = real.astype(np.float64), fake.astype(np.float64)
    rr, ff, rf = cdist(real, real), cdist(fake, fake), cdist(real, fake)
    r_pr, r_dc = np.sort(rr, axis=1)[:, k_pr], np.sort(rr, axis=1)[:, k_dc]
    f_pr = np.sort(ff, axis=1)[:, k_pr]
    return {
        "precision": (rf <= r_pr[:, None]).any(axis=0).mean(),
        "recall": (rf <= f_pr[None, :]).any(axis=1).mean(),
        "density": (rf < r_dc[:, None]).sum(axis=0).mean() / k_dc,
        "coverage": (rf.min(axis=1) < r_dc).mean(),
    }


@pytest.mark.parametrize("k", [3, 5])
@pytest.mark.parametrize("block_size", BLOCK_SIZES)
def test_matches_clovaai_prdc(cases, k, block_size):
    result = prdc(cases["real"], cases["fake"], k, block_size=block_size)
    for name in METRICS:
        np.testing.assert_allclose(
            result[name], float(cases[f"k{k}_{name}"]), rtol=1e-12, err_msg=name
        )


def test_radii_bit_identical_across_block_sizes(cases):
    first = knn_sq_radii(cases["real"], (3, 5), block_size=BLOCK_SIZES[0])
    for block_size in BLOCK_SIZES[1:]:
        radii = knn_sq_radii(cases["real"], (3, 5), block_size=block_size)
        for k in (3, 5):
            np.testing.assert_array_equal(radii[k], first[k])


def test_results_identical_across_block_sizes_random():
    rng = np.random.default_rng(0)
    real = rng.standard_normal((700, 12))
    fake = rng.standard_normal((530, 12)) * 1.1 + 0.2
    results = [manifold_metrics(real, fake, 3, 5, b) for b in (3, 100, 256, 513, 1000)]
    assert all(r == results[0] for r in results)


def test_brute_force_oracle():
    rng = np.random.default_rng(1)
    real = rng.standard_normal((400, 10)).astype(np.float32)
    fake = (rng.standard_normal((300, 10)) * 0.8 + 0.3).astype(np.float32)
    result = manifold_metrics(real, fake, 3, 5, block_size=97)
    expected = _oracle(real, fake, 3, 5)
    for name in METRICS:
        np.testing.assert_allclose(result[name], expected[name], rtol=1e-12, err_msg=name)
    radii = knn_sq_radii(real, (4,), block_size=33)[4]
    np.testing.assert_allclose(np.sqrt(radii), np.sort(cdist(real, real), axis=1)[:, 4], rtol=1e-6)


def test_identical_sets():
    x = np.random.default_rng(2).standard_normal((300, 8))
    for k in (3, 5):
        result = prdc(x, x.copy(), k, block_size=64)
        assert result["precision"] == result["recall"] == result["coverage"] == 1.0
        assert result["density"] == 1.0  # strict <; inclusive would give (k + 1) / k


def test_far_apart_sets_score_zero():
    x = np.random.default_rng(3).standard_normal((200, 8))
    assert prdc(x, x + 100.0, 3) == dict.fromkeys(METRICS, 0.0)


def test_duplicates_give_recall_of_unique_fraction():
    rng = np.random.default_rng(4)
    unique = rng.standard_normal((10, 16)) * 3
    real = np.concatenate([unique, rng.standard_normal((990, 16))])
    fake = np.repeat(unique, 100, axis=0)
    result = manifold_metrics(real, fake, 3, 5, block_size=128)
    assert result["recall"] == 0.01
    assert result["precision"] == 1.0


def test_swap_symmetry():
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((250, 6)), rng.standard_normal((310, 6)) * 1.3
    assert prdc(a, b, 3)["precision"] == prdc(b, a, 3)["recall"]
    assert prdc(a, b, 3)["recall"] == prdc(b, a, 3)["precision"]


def test_mode_collapse_convention():
    rng = np.random.default_rng(6)
    real = rng.standard_normal((200, 16)) * 3.0
    fake = rng.standard_normal((200, 16)) * 0.1
    result = prdc(real, fake, 3)
    assert result["precision"] > 0.8 and result["recall"] < 0.3


def test_same_distribution_density_and_coverage():
    rng = np.random.default_rng(7)
    n = m = 2000
    k = 5
    result = prdc(rng.standard_normal((n, 16)), rng.standard_normal((m, 16)), k)
    expected_coverage = 1 - np.prod([(n - 1 - j) / (n + m - 1 - j) for j in range(k)])
    assert abs(result["coverage"] - expected_coverage) < 0.02
    assert abs(result["density"] - 1.0) < 0.05


def test_bad_inputs_raise():
    x = np.zeros((10, 4))
    with pytest.raises(ValueError, match="more than k"):
        prdc(x[:3], x, 3)
    with pytest.raises(ValueError, match="dimensions differ"):
        prdc(x, np.zeros((10, 5)), 3)
    with pytest.raises(ValueError, match="NaN"):
        prdc(x, np.full((10, 4), np.nan), 3)
    with pytest.raises(ValueError, match="block_size"):
        prdc(x, x, 3, block_size=0)
