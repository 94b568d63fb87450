"""Tests of jaxgan.data.toy2d: the ring and grid mixtures of latent_priors.md §5, their metrics."""

from __future__ import annotations

import numpy as np
import pytest

from jaxgan.data import toy2d
from jaxgan.data.toy2d import (
    TOY2D_NAMES,
    assign_modes,
    centres,
    grid25,
    load_toy2d,
    mode_metrics,
    ring8,
)


def test_ring_centres():
    c = centres("ring8")
    assert c.shape == (8, 2) and c.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(c, axis=1), 2.0, rtol=1e-6)
    angles = np.mod(np.arctan2(c[:, 1], c[:, 0]), 2 * np.pi)
    np.testing.assert_allclose(angles, 2 * np.pi * np.arange(8) / 8, atol=1e-6)
    assert len(np.unique(np.round(c, 4), axis=0)) == 8  # no duplicated endpoint
    assert toy2d.std("ring8") == 0.02


def test_grid_centres():
    c = centres("grid25")
    assert c.shape == (25, 2) and c.dtype == np.float32
    expected = {(x, y) for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4)}
    assert {tuple(p) for p in c.astype(int).tolist()} == expected
    assert toy2d.std("grid25") == 0.05


@pytest.mark.parametrize("name, fn", [("ring8", ring8), ("grid25", grid25)])
def test_samples(name, fn):
    points, labels = fn(20000, seed=3)
    assert points.shape == (20000, 2) and points.dtype == np.float32
    assert labels.shape == (20000,) and labels.dtype == np.int32
    k = len(centres(name))
    counts = np.bincount(labels, minlength=k)
    assert len(counts) == k and counts.min() > 0.7 * 20000 / k  # equal weights
    residual = points - centres(name)[labels]
    np.testing.assert_allclose(residual.mean(0), 0.0, atol=5e-3)
    np.testing.assert_allclose(residual.std(0), toy2d.std(name), rtol=0.05)
    # Same interface through the dispatcher, and seeded.
    p2, l2 = load_toy2d(name, 20000, seed=3)
    np.testing.assert_array_equal(points, p2)
    np.testing.assert_array_equal(labels, l2)
    p3, _ = load_toy2d(name, 20000, seed=4)
    assert not np.array_equal(points, p3)


def test_unknown_name_lists_valid_ones():
    with pytest.raises(ValueError, match="ring8, grid25"):
        load_toy2d("spiral", 10)
    with pytest.raises(ValueError, match="valid names"):
        centres("ring")
    assert TOY2D_NAMES == ("ring8", "grid25")


def test_zero_points():
    points, labels = load_toy2d("ring8", 0)
    assert points.shape == (0, 2) and labels.shape == (0,)


@pytest.mark.parametrize("name", TOY2D_NAMES)
def test_perfect_sampler_covers_all_modes(name):
    points, labels = load_toy2d(name, 2500, seed=0)
    m = mode_metrics(points, name)
    k = len(centres(name))
    assert m["num_modes"] == k
    assert m["modes_covered"] == k
    assert m["high_quality_fraction"] > 0.97  # 1 − P(χ²₂ > 9) ≈ 0.989
    assert m["counts"].sum() == round(m["high_quality_fraction"] * 2500)
    assert 0.0 <= m["kl_to_uniform"] < 0.05
    assert abs(m["entropy"] - np.log(k)) < 0.05
    nearest, good = assign_modes(points, centres(name), toy2d.std(name))
    np.testing.assert_array_equal(nearest, labels)  # modes are far apart relative to std


@pytest.mark.parametrize("name", TOY2D_NAMES)
def test_single_mode_sampler_covers_one(name):
    points, labels = load_toy2d(name, 2500, seed=1)
    collapsed = points[labels == 3]
    m = mode_metrics(collapsed, name)
    k = len(centres(name))
    assert m["modes_covered"] == 1
    assert m["counts"].argmax() == 3
    np.testing.assert_allclose(m["kl_to_uniform"], np.log(k), rtol=1e-12)
    assert m["entropy"] == 0.0


def test_off_mode_samples_are_low_quality():
    c = centres("grid25")
    # Midway between two grid modes: nearest to one of them but 20 std away.
    samples = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 0.14], [0.0, 0.16]], dtype=np.float32)
    nearest, good = assign_modes(samples, c, toy2d.std("grid25"))
    np.testing.assert_array_equal(good, [False, True, True, False])  # 3 std = 0.15
    m = mode_metrics(samples, "grid25")
    assert m["modes_covered"] == 1 and m["high_quality_fraction"] == 0.5
    assert np.array_equal(c[nearest[1]], [0.0, 0.0])


def test_no_high_quality_sample():
    m = mode_metrics(np.full((10, 2), 100.0), "ring8")
    assert m["modes_covered"] == 0 and m["high_quality_fraction"] == 0.0
    assert np.isnan(m["kl_to_uniform"]) and np.isnan(m["entropy"])


def test_threshold_and_chunking():
    """A larger threshold admits more samples; large inputs give the same answer in chunks."""
    points, labels = load_toy2d("ring8", 70000, seed=2)
    noisy = points + 0.05 * np.random.default_rng(0).standard_normal(points.shape)
    loose = mode_metrics(noisy, "ring8", threshold=10.0)
    strict = mode_metrics(noisy, "ring8")
    assert loose["high_quality_fraction"] > strict["high_quality_fraction"]
    nearest, _ = assign_modes(noisy, centres("ring8"), 0.02)
    np.testing.assert_array_equal(nearest, labels)  # crosses the 65536 chunk boundary


def test_bad_shape():
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        mode_metrics(np.zeros((5, 3)), "ring8")
