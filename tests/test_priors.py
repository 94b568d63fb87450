"""The latent priors: shapes, dtypes, finiteness, moments, determinism."""

from __future__ import annotations

import re

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats

from jaxgan import priors, variants
from jaxgan.variant_files import load_variant_config, variant_names


@pytest.mark.parametrize("latent_dim", [2, 20, 100])
def test_gaussian_shapes_dtype(latent_dim):
    prior = priors.gaussian(latent_dim)
    assert prior.latent_dim == latent_dim
    params = prior.init(jax.random.PRNGKey(0))
    assert params == {}
    z, aux = prior.sample(params, jax.random.PRNGKey(1), 7)
    chex.assert_shape(z, (7, latent_dim))
    chex.assert_type(z, jnp.float32)
    chex.assert_tree_all_finite(z)
    assert aux == {}


@pytest.mark.parametrize("std", [1.0, 0.75])
def test_gaussian_moments(std):
    prior = priors.gaussian(100, std=std)
    z, _ = prior.sample(prior.init(jax.random.PRNGKey(0)), jax.random.PRNGKey(2), 4096)
    z = np.asarray(z, np.float64)
    n = z.size
    assert abs(z.mean()) < 5 * std / np.sqrt(n)
    assert z.std() == pytest.approx(std, rel=0.01)
    # coordinates uncorrelated
    corr = np.corrcoef(z[:, :10], rowvar=False)
    assert np.max(np.abs(corr - np.eye(10))) < 0.1


def test_gaussian_deterministic_in_key_and_jittable():
    prior = priors.gaussian(100)
    params = prior.init(jax.random.PRNGKey(0))
    sample = jax.jit(prior.sample, static_argnums=2)
    a, _ = sample(params, jax.random.PRNGKey(3), 16)
    b, _ = prior.sample(params, jax.random.PRNGKey(3), 16)
    c, _ = sample(params, jax.random.PRNGKey(4), 16)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


@pytest.mark.parametrize("name", variant_names())
def test_variant_prior_follows_latent_dim(name):
    config = load_variant_config(name)
    assert variants.build(config).prior.latent_dim == config.prior.latent_dim
    config.prior.latent_dim = 32
    prior = variants.build(config).prior
    z, _ = prior.sample(prior.init(jax.random.PRNGKey(0)), jax.random.PRNGKey(0), 4)
    chex.assert_shape(z, (4, 32))


# ---------------------------------------------------------------- labelled priors, log_prob


def _draw(prior, n=4096, seed=0, labels=None):
    params = prior.init(jax.random.PRNGKey(seed))
    z, aux = jax.jit(prior.sample, static_argnums=2)(params, jax.random.PRNGKey(seed + 1), n,
                                                      labels)
    return params, z, aux


def test_gaussian_log_prob_is_the_closed_form():
    prior = priors.gaussian(5, std=0.5)
    params, z, _ = _draw(prior, 8)
    z64 = np.asarray(z, np.float64)
    expect = -0.5 * np.sum((z64 / 0.5) ** 2, 1) - 5 * np.log(0.5) - 2.5 * np.log(2 * np.pi)
    np.testing.assert_allclose(prior.log_prob(params, z), expect, rtol=1e-5)


def test_one_hot_gaussian_layout_and_aux():
    prior = priors.one_hot_gaussian(30, num_classes=10, noise_std=0.75)
    _, z, aux = _draw(prior, 2000)
    chex.assert_shape(z, (2000, 30))
    chex.assert_shape(aux["noise"], (2000, 20))
    np.testing.assert_array_equal(z[:, :20], aux["noise"])
    # the one-hot part is exactly e_label, and each label comes out
    np.testing.assert_array_equal(z[:, 20:], np.eye(10)[np.asarray(aux["label"])])
    assert set(np.asarray(aux["label"]).tolist()) == set(range(10))
    assert np.asarray(aux["noise"]).std() == pytest.approx(0.75, rel=0.02)
    params = prior.init(jax.random.PRNGKey(0))
    lp = np.asarray(prior.log_prob(params, z))
    expect = (scipy.stats.norm(0, 0.75).logpdf(np.asarray(z[:, :20], np.float64)).sum(1)
              - np.log(10))
    np.testing.assert_allclose(lp, expect, rtol=1e-5)


def test_recall_sampling_is_stratified_with_noisy_active_entries():
    prior = priors.one_hot_gaussian(30, 10, 0.75, active_mean=1.1, active_std=0.15,
                                    stratified=True)
    _, z, aux = _draw(prior, 5000)
    np.testing.assert_array_equal(np.bincount(np.asarray(aux["label"]), minlength=10), [500] * 10)
    active = np.asarray(z[:, 20:])[np.arange(5000), np.asarray(aux["label"])]
    assert active.mean() == pytest.approx(1.1, abs=0.01)
    assert active.std() == pytest.approx(0.15, rel=0.05)
    assert np.count_nonzero(np.asarray(z[:, 20:])) == 5000


@pytest.mark.parametrize("dynamic", [False, True])
def test_mixture_samples_come_from_the_component_in_aux(dynamic):
    prior = priors.gaussian_mixture(8, num_components=4, mean_range=3.0, sigma=0.01,
                                    sigma_is_variance=False, dynamic=dynamic)
    assert prior.trainable is dynamic and prior.num_classes == 4
    params, z, aux = _draw(prior, 1000)
    means = np.asarray(params["means"])
    assert np.all(np.abs(means) <= 3.0)
    nearest = np.argmin(((np.asarray(z)[:, None] - means[None]) ** 2).sum(-1), axis=1)
    np.testing.assert_array_equal(nearest, aux["label"])
    np.testing.assert_allclose(jax.nn.softplus(params["rho"]), 0.01, rtol=1e-5)


def test_mixture_std_is_the_square_root_of_a_variance_sigma():
    prior = priors.gaussian_mixture(4, 3, 0.1, sigma=0.15, sigma_is_variance=True)
    params = prior.init(jax.random.PRNGKey(0))
    np.testing.assert_allclose(jax.nn.softplus(params["rho"]), np.sqrt(0.15), rtol=1e-5)


def test_mixture_log_prob_matches_scipy():
    prior = priors.gaussian_mixture(3, num_components=4, mean_range=2.0, sigma=0.5,
                                    sigma_is_variance=False)
    params, z, _ = _draw(prior, 64)
    means = np.asarray(params["means"], np.float64)
    std = np.asarray(jax.nn.softplus(params["rho"]), np.float64)
    z64 = np.asarray(z, np.float64)
    dens = sum(
        scipy.stats.multivariate_normal(means[k], np.diag(std[k] ** 2)).pdf(z64) / 4
        for k in range(4)
    )
    np.testing.assert_allclose(prior.log_prob(params, z), np.log(dens), rtol=1e-5, atol=1e-5)


def test_given_labels_choose_the_component():
    for prior in (priors.one_hot_gaussian(20, 10), priors.gaussian_mixture(20, 10)):
        _, _, aux = _draw(prior, 50, labels=3)
        np.testing.assert_array_equal(aux["label"], 3)
    with pytest.raises(ValueError, match="no labelled components"):
        priors.gaussian(4).sample({}, jax.random.PRNGKey(0), 2, labels=1)


def test_dynamic_mixture_gets_gradients_through_the_sample():
    prior = priors.gaussian_mixture(6, 3, 1.0, 0.2, dynamic=True)
    params = prior.init(jax.random.PRNGKey(0))
    grads = jax.grad(lambda p: jnp.sum(prior.sample(p, jax.random.PRNGKey(1), 32)[0] ** 2))(params)
    for name in ("means", "rho"):
        assert np.count_nonzero(np.asarray(grads[name])) > 0, name


@pytest.mark.parametrize(
    "fields,message",
    [
        ({"name": "gaussian", "latent_dim": 8, "bogus": 1}, "prior.bogus: no such field"),
        ({"name": "gauss", "latent_dim": 8}, "unknown prior.name 'gauss'; valid: gaussian"),
        ({"name": "one_hot_gaussian", "latent_dim": 10, "num_classes": 10},
         "prior.latent_dim: 10 must exceed its one-hot part num_classes=10"),
        ({"name": "gaussian_mixture", "latent_dim": 8, "sigma": 0.0}, "prior.sigma: must be > 0"),
        ({"name": "gaussian"}, "prior.latent_dim: required"),
    ],
)
def test_bad_prior_fields_are_one_line(fields, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        priors.build(fields)
