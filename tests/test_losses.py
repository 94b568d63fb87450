"""The adversarial losses: known values at known logits, shapes, dtypes, stability, registry."""

from __future__ import annotations

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import losses

LN2 = math.log(2.0)
# softplus values used below: softplus(t) = log(1 + e^t)
SP_M2 = 0.12692801104297263  # softplus(-2)
SP_M1 = 0.31326168751822286  # softplus(-1)
SP_1 = 1.3132616875182228  # softplus(1)
SP_2 = 2.1269280110429727  # softplus(2)

# The "logit" entries of SAN dicts are poison: a SAN D loss must read only "fun" and "dir".
POISON = jnp.full((3,), jnp.nan)


def out(logit):
    return {"logit": jnp.asarray(logit, jnp.float32)}


def san_out(fun, dir_):
    return {"logit": POISON, "fun": jnp.asarray(fun, jnp.float32),
            "dir": jnp.asarray(dir_, jnp.float32)}


def test_softplus_constants():
    for value, t in ((SP_M2, -2), (SP_M1, -1), (SP_1, 1), (SP_2, 2)):
        assert value == pytest.approx(math.log1p(math.exp(t)), rel=1e-15)


BCE_REAL, BCE_FAKE = [0.0, 1.0, -2.0], [0.0, 2.0, -1.0]
HINGE_REAL, HINGE_FAKE = [0.5, 2.0, -1.0], [-2.0, 0.5, -0.5]
DIR_REAL, DIR_FAKE = [1.0, 3.0, -1.0], [0.0, -3.0, 0.0]  # means 1 and -1: dir part = -1 - 1 = -2

KNOWN = [
    # BCE D: mean softplus(-real) + mean softplus(fake)
    #   real (0, 1, -2): (ln2 + sp(-1) + sp(2)) / 3; fake (0, 2, -1): (ln2 + sp(2) + sp(-1)) / 3
    ("bce_d", lambda: losses.bce_d(out(BCE_REAL), out(BCE_FAKE)),
     2 * (LN2 + SP_M1 + SP_2) / 3),
    # BCE G (non-saturating): mean softplus(-fake) = (ln2 + sp(-2) + sp(1)) / 3
    ("bce_g", lambda: losses.bce_g(out(BCE_FAKE)), (LN2 + SP_M2 + SP_1) / 3),
    ("bce_d at 0", lambda: losses.bce_d(out([0.0, 0.0]), out([0.0])), 2 * LN2),
    ("bce_g at 0", lambda: losses.bce_g(out([0.0, 0.0])), LN2),
    # hinge D: real (0.5, 2, -1) -> relu(1 - d) = (0.5, 0, 2), mean 5/6;
    #          fake (-2, 0.5, -0.5) -> relu(1 + d) = (0, 1.5, 0.5), mean 2/3
    ("hinge_d", lambda: losses.hinge_d(out(HINGE_REAL), out(HINGE_FAKE)), 5 / 6 + 2 / 3),
    ("hinge_g", lambda: losses.hinge_g(out(HINGE_FAKE)), 2 / 3),  # -mean(-2, .5, -.5)
    # Wasserstein critic: mean fake - mean real = -2/3 - 1/2
    ("wasserstein_d", lambda: losses.wasserstein_d(out(HINGE_REAL), out(HINGE_FAKE)), -7 / 6),
    ("wasserstein_g", lambda: losses.wasserstein_g(out(HINGE_FAKE)), 2 / 3),
    # SAN hinge: hinge on fun (1.5) + mean fake dir - mean real dir (-1 - 1)
    ("san_hinge_d", lambda: losses.san_hinge_d(san_out(HINGE_REAL, DIR_REAL),
                                               san_out(HINGE_FAKE, DIR_FAKE)), 1.5 - 2.0),
    # SAN BCE: BCE on fun + the same linear dir part
    ("san_bce_d", lambda: losses.san_bce_d(san_out(BCE_REAL, DIR_REAL),
                                           san_out(BCE_FAKE, DIR_FAKE)),
     2 * (LN2 + SP_M1 + SP_2) / 3 - 2.0),
]


@pytest.mark.parametrize("name,fn,expected", KNOWN, ids=[k[0] for k in KNOWN])
def test_known_values(name, fn, expected):
    value = fn()
    chex.assert_shape(value, ())
    chex.assert_type(value, jnp.float32)
    assert float(value) == pytest.approx(expected, rel=1e-6, abs=1e-6), name


def test_hinge_g_is_wasserstein_g():
    assert losses.hinge_g is losses.wasserstein_g


def test_bce_is_stable_at_large_logits():
    big = 1e4
    # confident and right: ~0; confident and wrong: ~|logit|, never inf/nan
    assert float(losses.bce_d(out([big]), out([-big]))) == pytest.approx(0.0, abs=1e-6)
    assert float(losses.bce_d(out([-big]), out([big]))) == pytest.approx(2 * big, rel=1e-6)
    assert float(losses.bce_g(out([-big]))) == pytest.approx(big, rel=1e-6)
    g = jax.grad(lambda t: losses.bce_d(out(t), out(-t)))(jnp.array([big, -big]))
    chex.assert_tree_all_finite(g)


def test_losses_average_over_the_batch():
    """Repeating every sample leaves every loss unchanged (means, not sums)."""
    r, f = jnp.array([0.3, -1.2, 2.0]), jnp.array([1.1, -0.4, 0.0])
    d_losses = [losses.bce_d, losses.hinge_d, losses.wasserstein_d]
    for fn in d_losses:
        np.testing.assert_allclose(fn(out(r), out(f)), fn(out(jnp.tile(r, 4)), out(jnp.tile(f, 4))),
                                   rtol=1e-6)
    for fn in (losses.bce_g, losses.hinge_g):
        np.testing.assert_allclose(fn(out(f)), fn(out(jnp.tile(f, 3))), rtol=1e-6)


def test_san_gradients_of_the_two_parts():
    """d/dfun is the base loss's gradient; d/ddir is the linear one: -1/B real, +1/B fake."""
    real = san_out(HINGE_REAL, DIR_REAL)
    fake = san_out(HINGE_FAKE, DIR_FAKE)
    g_real, g_fake = jax.grad(losses.san_hinge_d, argnums=(0, 1))(real, fake)
    np.testing.assert_allclose(g_real["dir"], -np.ones(3) / 3, rtol=1e-6)
    np.testing.assert_allclose(g_fake["dir"], np.ones(3) / 3, rtol=1e-6)
    np.testing.assert_allclose(g_real["fun"], [-1 / 3, 0, -1 / 3], rtol=1e-6)  # relu(1 - d)
    np.testing.assert_allclose(g_fake["fun"], [0, 1 / 3, 1 / 3], rtol=1e-6)  # relu(1 + d)
    assert not np.any(np.asarray(g_real["logit"])) and not np.any(np.asarray(g_fake["logit"]))
