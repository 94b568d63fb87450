"""The fixed MLP generator and discriminator and the SAN head: shapes, counts, init, gradients."""

from __future__ import annotations

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from jaxgan import losses, models

B = 8


def _init(module, key, in_dim):
    return module.init(jax.random.PRNGKey(key), jnp.zeros((1, in_dim)))


def _count(params) -> int:
    return sum(int(np.prod(x.shape)) for x in jax.tree.leaves(params))


def _dense_layers(params):
    """{name: (kernel, bias or None)} of every TorchDense layer."""
    return {
        name: (p["kernel"], p.get("bias"))
        for name, p in params["params"].items()
        if isinstance(p, dict) and "kernel" in p
    }


@pytest.fixture(scope="module")
def g_params():
    return _init(models.Generator(), 0, 100)


@pytest.fixture(scope="module")
def d_params():
    return _init(models.Discriminator(), 1, models.IMAGE_DIM)


@pytest.fixture(scope="module")
def san_params():
    return _init(models.Discriminator(head="san"), 2, models.IMAGE_DIM)


def _images(key=3, n=B):
    return jax.random.uniform(jax.random.PRNGKey(key), (n, models.IMAGE_DIM), minval=-1, maxval=1)


# ---------------------------------------------------------------- shapes, dtypes, counts


def test_generator_shapes_dtype_range(g_params):
    z = jax.random.normal(jax.random.PRNGKey(0), (B, 100))
    x = jax.jit(models.Generator().apply)(g_params, z)
    chex.assert_shape(x, (B, models.IMAGE_DIM))
    chex.assert_type(x, jnp.float32)
    chex.assert_tree_all_finite(x)
    assert float(jnp.max(jnp.abs(x))) <= 1.0  # tanh output


def test_discriminator_shapes_dtype(d_params):
    out = jax.jit(models.Discriminator().apply)(d_params, _images())
    assert set(out) == {"logit", "features"}
    chex.assert_shape(out["logit"], (B,))
    chex.assert_shape(out["features"], (B, models.D_HIDDEN[-1]))
    chex.assert_type(out["logit"], jnp.float32)
    chex.assert_tree_all_finite(out)


def test_san_discriminator_outputs_equal_in_value(san_params):
    out = jax.jit(models.Discriminator(head="san").apply)(san_params, _images())
    assert set(out) == {"logit", "fun", "dir", "features"}
    chex.assert_shape([out["logit"], out["fun"], out["dir"]], (B,))
    chex.assert_type([out["logit"], out["fun"], out["dir"]], jnp.float32)
    chex.assert_tree_all_finite(out)
    # stop_gradient is the identity in the forward pass: logit = fun = dir.
    np.testing.assert_allclose(out["fun"], out["logit"], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(out["dir"], out["logit"], rtol=1e-6, atol=1e-7)


def test_parameter_counts(g_params, d_params, san_params):
    assert _count(g_params) == 1_486_352
    assert _count(d_params) == 1_460_225
    assert _count(san_params) == 1_460_225 - 1  # the SAN head has no bias


@pytest.mark.parametrize("latent_dim", [20, 30, 200])
def test_latent_dim_changes_only_the_first_layer(g_params, latent_dim):
    other = _init(models.Generator(), 0, latent_dim)
    shapes_100 = jax.tree.map(jnp.shape, g_params)
    shapes_d = jax.tree.map(jnp.shape, other)
    assert jax.tree.structure(shapes_100) == jax.tree.structure(shapes_d)
    changed = [
        name
        for name, p in g_params["params"].items()
        if jax.tree.map(jnp.shape, p) != jax.tree.map(jnp.shape, other["params"][name])
    ]
    assert len(changed) == 1
    (first,) = changed
    assert g_params["params"][first]["kernel"].shape == (100, 256)
    assert other["params"][first]["kernel"].shape == (latent_dim, 256)
    assert _count(other) - _count(g_params) == (latent_dim - 100) * 256
    z = jnp.zeros((B, latent_dim))
    chex.assert_shape(models.Generator().apply(other, z), (B, models.IMAGE_DIM))


# ---------------------------------------------------------------- initialisation


def _all_init_arrays(g_params, d_params, san_params):
    """(label, array, fan_in) for every kernel, bias and the SAN w."""
    out = []
    for net, params in (("G", g_params), ("D", d_params), ("SAN", san_params)):
        for name, (kernel, bias) in _dense_layers(params).items():
            fan_in = kernel.shape[0]
            out.append((f"{net}/{name}/kernel", kernel, fan_in))
            if bias is not None:
                out.append((f"{net}/{name}/bias", bias, fan_in))
    w = san_params["params"]["w"]
    out.append(("SAN/w", w, w.shape[0]))
    return out


def test_init_within_torch_bounds(g_params, d_params, san_params):
    arrays = _all_init_arrays(g_params, d_params, san_params)
    assert len(arrays) == 8 + 8 + 7
    for label, a, fan_in in arrays:
        bound = 1.0 / math.sqrt(fan_in)
        assert float(jnp.max(jnp.abs(a))) <= bound * (1 + 1e-6), label


def test_init_is_uniform(g_params, d_params, san_params):
    """Each array scaled by its bound looks like U(-1, 1): KS test, mean, std, range used."""
    for label, a, fan_in in _all_init_arrays(g_params, d_params, san_params):
        u = np.asarray(a, np.float64).ravel() * math.sqrt(fan_in)
        n = u.size
        assert stats.kstest(u, stats.uniform(loc=-1, scale=2).cdf).pvalue > 1e-4, label
        # U(-1, 1): mean 0 (sd 1/sqrt(3n)), std 1/sqrt(3) (sd of the sample std ≈ 0.26/sqrt(n)).
        assert abs(u.mean()) < 5 / math.sqrt(3 * n), label
        assert abs(u.std() - 1 / math.sqrt(3)) < 1.5 / math.sqrt(n), label
        if n >= 1000:
            assert u.max() > 0.99 and u.min() < -0.99, label


def test_init_depends_on_key():
    a = _init(models.Discriminator(), 0, models.IMAGE_DIM)
    b = _init(models.Discriminator(), 0, models.IMAGE_DIM)
    c = _init(models.Discriminator(), 1, models.IMAGE_DIM)
    chex.assert_trees_all_equal(a, b)
    assert not np.array_equal(jax.tree.leaves(a)[0], jax.tree.leaves(c)[0])


# ---------------------------------------------------------------- SAN stop-gradients


def _grads(params, output):
    def f(p):
        return jnp.mean(models.Discriminator(head="san").apply(p, _images())[output])

    return jax.grad(f)(params)["params"]


def _trunk(grads):
    return {k: v for k, v in grads.items() if k != "w"}


def test_san_fun_trains_trunk_and_scale_only(san_params):
    g = _grads(san_params, "fun")
    assert all(float(jnp.max(jnp.abs(x))) > 0 for x in jax.tree.leaves(_trunk(g)))
    w, gw = san_params["params"]["w"], g["w"]
    omega = w / jnp.linalg.norm(w)
    radial = jnp.dot(gw, omega)
    assert abs(float(radial)) > 0
    # purely radial: the part orthogonal to w vanishes (it changes only |w|)
    tangential = gw - radial * omega
    assert float(jnp.linalg.norm(tangential)) <= 1e-5 * float(jnp.linalg.norm(gw))


def test_san_dir_trains_direction_only(san_params):
    g = _grads(san_params, "dir")
    for x in jax.tree.leaves(_trunk(g)):
        assert not np.any(np.asarray(x)), "the dir output must not reach the trunk"
    w, gw = san_params["params"]["w"], g["w"]
    assert float(jnp.linalg.norm(gw)) > 0
    # tangential: orthogonal to w (it changes only w's direction)
    cos = jnp.dot(gw, w) / (jnp.linalg.norm(gw) * jnp.linalg.norm(w))
    assert abs(float(cos)) <= 1e-5


def test_san_logit_gradient_is_fun_plus_dir(san_params):
    """The full logit carries every gradient; fun (trunk, |w|) and dir (direction) split it."""
    g_logit, g_fun, g_dir = (_grads(san_params, k) for k in ("logit", "fun", "dir"))
    chex.assert_trees_all_close(g_logit, jax.tree.map(jnp.add, g_fun, g_dir), atol=1e-7,
                                rtol=1e-5)
    chex.assert_trees_all_close(_trunk(g_logit), _trunk(g_fun), atol=0, rtol=1e-6)


def test_san_d_loss_gradient_split(san_params):
    """Through the SAN hinge D loss, w gets a radial part (hinge on fun) + a tangential (dir)."""
    real, fake = _images(4), _images(5)
    disc = models.Discriminator(head="san")

    def grad_w(loss):
        def f(p):
            return loss(disc.apply(p, real), disc.apply(p, fake))

        return jax.grad(f)(san_params)["params"]["w"]

    g_total = grad_w(losses.san_hinge_d)
    g_fun = grad_w(lambda r, f: losses.hinge_d({"logit": r["fun"]}, {"logit": f["fun"]}))
    g_dir = grad_w(lambda r, f: jnp.mean(f["dir"]) - jnp.mean(r["dir"]))
    np.testing.assert_allclose(g_total, g_fun + g_dir, rtol=1e-5, atol=1e-8)
    w = san_params["params"]["w"]
    omega = w / jnp.linalg.norm(w)
    radial_rest = g_fun - jnp.dot(g_fun, omega) * omega
    assert float(jnp.linalg.norm(g_fun)) > 0 and float(jnp.linalg.norm(g_dir)) > 0
    assert float(jnp.linalg.norm(radial_rest)) <= 1e-5 * float(jnp.linalg.norm(g_fun))
    assert abs(float(jnp.dot(g_dir, omega))) <= 1e-5 * float(jnp.linalg.norm(g_dir))
