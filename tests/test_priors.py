"""The latent priors: shapes, dtypes, finiteness, moments, determinism."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import priors, variants
from jaxgan.config import load_variant_config, variant_names


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
    assert variants.build(config).prior.latent_dim == config.latent_dim == 100
    config.latent_dim = 32
    prior = variants.build(config).prior
    z, _ = prior.sample(prior.init(jax.random.PRNGKey(0)), jax.random.PRNGKey(0), 4)
    chex.assert_shape(z, (4, 32))
