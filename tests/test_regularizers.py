"""The WGAN-GP gradient penalty on critics whose input gradients are known in closed form."""

from __future__ import annotations

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import regularizers

B, D = 16, 784


def _batches(shape=(B, D)):
    k1, k2 = jax.random.split(jax.random.PRNGKey(0))
    return jax.random.uniform(k1, shape, minval=-1, maxval=1), jax.random.normal(k2, shape)


def _gp(d, real, fake, key):
    """The penalty, jitted (one compile instead of many eager op compiles)."""
    return jax.jit(functools.partial(regularizers.gradient_penalty, d))(real, fake, key)


def _unit(key, shape=(D,)):
    u = jax.random.normal(jax.random.PRNGKey(key), shape)
    return u / jnp.linalg.norm(u)


def _linear(u):
    """d(x) = <u, x> per sample: its input gradient is u everywhere, of norm |u|."""
    return lambda x: jnp.sum(x.reshape(x.shape[0], -1) * u.reshape(-1), axis=-1)


def test_unit_norm_linear_critic_has_zero_penalty():
    real, fake = _batches()
    for seed in range(3):
        gp = _gp(_linear(_unit(seed)), real, fake,
                                           jax.random.PRNGKey(seed))
        chex.assert_shape(gp, ())
        chex.assert_type(gp, jnp.float32)
        assert float(gp) == pytest.approx(0.0, abs=1e-10)


@pytest.mark.parametrize("norm", [0.0, 0.25, 0.5, 2.0, 3.0, 10.0])
def test_linear_critic_penalty_is_norm_minus_one_squared(norm):
    real, fake = _batches()
    u = norm * _unit(7)
    gp = _gp(_linear(u), real, fake, jax.random.PRNGKey(1))
    assert float(gp) == pytest.approx((norm - 1.0) ** 2, rel=1e-5, abs=1e-6)


def test_image_shaped_inputs():
    """(B, 28, 28) batches: the norm is taken over all of a sample's pixels."""
    real, fake = _batches((B, 28, 28))
    u = 2.0 * _unit(3, (28, 28))
    gp = _gp(_linear(u), real, fake, jax.random.PRNGKey(2))
    assert float(gp) == pytest.approx(1.0, rel=1e-5)


def test_penalty_is_taken_at_the_interpolates():
    """d(x) = |x|²/2 has input gradient x, so the penalty is mean (|x̂_i| - 1)² with
    x̂ = x + α(G(z) - x), α ~ U[0, 1] drawn per sample from the given key."""
    real, fake = _batches((B, 10))
    real, fake = 0.1 * real, 0.1 * fake  # norms around 1 so the values vary
    key = jax.random.PRNGKey(5)
    gp = _gp(lambda x: 0.5 * jnp.sum(x**2, axis=-1), real, fake, key)
    alpha = jax.random.uniform(key, (B, 1))
    x_hat = real + alpha * (fake - real)
    expected = jnp.mean((jnp.linalg.norm(x_hat, axis=-1) - 1.0) ** 2)
    np.testing.assert_allclose(gp, expected, rtol=1e-5)
    # the per-sample α really varies: a single shared α would give another value
    shared = real + alpha[0] * (fake - real)
    assert abs(float(expected - jnp.mean((jnp.linalg.norm(shared, axis=-1) - 1.0) ** 2))) > 1e-4


def test_penalty_gradient_is_finite_at_zero_input_gradient():
    """A critic with zero input gradient: GP = 1 and d GP / d params is finite (the 1e-12 guard)."""
    real, fake = _batches()

    def gp_of(u):
        return regularizers.gradient_penalty(_linear(u), real, fake, jax.random.PRNGKey(0))

    gp_of = jax.jit(gp_of)

    value, grad = jax.value_and_grad(gp_of)(jnp.zeros(D))
    assert float(value) == pytest.approx(1.0, abs=1e-5)
    chex.assert_tree_all_finite(grad)
    # away from 0 the gradient is 2(|u| - 1) u/|u|
    u = 3.0 * _unit(4)
    np.testing.assert_allclose(jax.grad(gp_of)(u), 2 * (3.0 - 1.0) * u / 3.0, rtol=1e-4,
                               atol=1e-6)
