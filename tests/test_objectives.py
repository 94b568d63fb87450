"""Objectives: every variant's losses on its real networks, known values at known logits, which
networks G's objective trains, and the one-line errors of a wrong objective field."""

from __future__ import annotations

import re

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special

from jaxgan import losses, objectives, priors, regularizers, variants
from jaxgan.objectives import Context
from jaxgan.step import Batch, d_update, g_update
from jaxgan.train import optimizers
from jaxgan.variant_files import load_variant_config

B = 8


SMALL_NETS = {"g_hidden": (32, 64), "d_hidden": (64, 32), "enc_hidden": (64, 32)}


def _setup(name, nets=SMALL_NETS, objective=None, **prior_overrides):
    """The variant's prior and objective (its fields updated by `objective`) on narrow networks
    (the widths change no loss's form)."""
    config = load_variant_config(name)
    config.batch_size = B
    config.nets = nets
    config.objective.update(objective or {})
    for k, v in prior_overrides.items():
        config.prior[k] = v
    model = variants.build(config)
    params = model.init(jax.random.PRNGKey(0))
    k1, k2 = jax.random.split(jax.random.PRNGKey(1))
    batch = Batch(jax.random.uniform(k1, (B, 784), minval=-1, maxval=1),
                  jax.random.randint(k2, (B,), 0, 10))
    return config, model, params, batch


def _context(model, params, batch, seed=2):
    z, aux = model.prior.sample(params["prior"], jax.random.PRNGKey(seed), B)
    fake = model.nets["g"].apply(params["g"], z)
    return Context(params, model.apply, batch.x, batch.y, fake, z, aux, jax.random.PRNGKey(3))


# one variant per objective (hinge, wgan_gp: the identity tests below; the unsupervised mixtures
# share vanilla's objective; unrolled and the feature losses need the step: test_dynamics.py)
@pytest.mark.parametrize("name", ["vanilla", "san", "clustergan", "gmgan_supervised",
                                  "gmgan_wgangp", "mmgan", "wgan", "r1", "mdgan", "prgan"])
def test_every_variant_losses_are_finite_scalars(name):
    _, model, params, batch = _setup(name)
    ctx = _context(model, params, batch)
    for loss_fn in (model.objective.d_loss, model.objective.g_loss):
        loss, metrics = jax.jit(lambda p, f=loss_fn: f(ctx._replace(params=p)))(params)
        chex.assert_shape(loss, ())
        chex.assert_type(loss, jnp.float32)
        chex.assert_tree_all_finite((loss, metrics))
    realness = model.objective.realness(
        model.nets["d"].apply(params["d"], jnp.zeros((B, model.input_dims["d"])))
    )
    chex.assert_shape(realness, (B,))


@pytest.mark.parametrize(
    "name,d_fn,g_fn",
    [("vanilla", losses.bce_d, losses.bce_g), ("hinge", losses.hinge_d, losses.hinge_g)],
)
def test_adversarial_objectives_are_their_losses(name, d_fn, g_fn):
    _, model, params, batch = _setup(name)
    ctx = _context(model, params, batch)
    d = lambda x: model.nets["d"].apply(params["d"], x)
    np.testing.assert_allclose(model.objective.d_loss(ctx)[0], d_fn(d(ctx.real), d(ctx.fake)),
                               rtol=1e-6)
    np.testing.assert_allclose(model.objective.g_loss(ctx)[0], g_fn(d(ctx.fake)), rtol=1e-6)


def test_wgan_gp_objective_adds_the_penalty():
    _, model, params, batch = _setup("wgan_gp")
    ctx = _context(model, params, batch)
    logit = lambda x: model.nets["d"].apply(params["d"], x)["logit"]
    gp = regularizers.gradient_penalty(logit, ctx.real, ctx.fake, jax.random.split(ctx.key, 1)[0])
    expect = losses.wasserstein_d({"logit": logit(ctx.real)}, {"logit": logit(ctx.fake)}) + 10 * gp
    np.testing.assert_allclose(model.objective.d_loss(ctx)[0], expect, rtol=1e-5)


def _logit_context(real_logits, fake_logits, real_labels, fake_labels):
    """A context whose D returns its input: the batches are the logits themselves."""
    return Context({"d": {}}, {"d": lambda p, x: {"logits": x}}, jnp.asarray(real_logits),
                   jnp.asarray(real_labels), jnp.asarray(fake_logits), None,
                   {"label": jnp.asarray(fake_labels)}, jax.random.PRNGKey(0))


def _ce(logits, labels):
    logits = np.asarray(logits, np.float64)
    return np.mean(scipy.special.logsumexp(logits, 1) - logits[np.arange(len(labels)), labels])


def test_supervised_gm_losses_at_known_logits():
    obj = objectives.gm_supervised(priors.gaussian_mixture(4, 3), num_classes=3)
    assert obj.d_outputs == 4
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    y, k = np.array([0, 1, 2, 1, 0]), np.array([2, 2, 0, 1, 1])
    ctx = _logit_context(real, fake, y, k)
    np.testing.assert_allclose(obj.d_loss(ctx)[0], _ce(real, y) + _ce(fake, np.full(5, 3)),
                               rtol=1e-5)
    np.testing.assert_allclose(obj.g_loss(ctx)[0], _ce(fake, k), rtol=1e-5)
    # perfect logits: D's loss near 0, and realness is +large for real, -large for fake
    sure = 30 * np.eye(4)
    ctx = _logit_context(sure[y], sure[np.full(5, 3)], y, k)
    assert float(obj.d_loss(ctx)[0]) < 1e-6
    assert np.all(np.asarray(obj.realness({"logits": jnp.asarray(sure[y])})) > 25)
    assert np.all(np.asarray(obj.realness({"logits": jnp.asarray(sure[[3]])})) < -25)


def test_clustergan_g_loss_terms():
    _, model, params, batch = _setup("clustergan")
    ctx = _context(model, params, batch)
    loss, m = model.objective.g_loss(ctx)
    enc = model.nets["enc"].apply(params["enc"], ctx.fake)
    mse = np.mean((np.asarray(ctx.z[:, :20]) - np.asarray(enc["noise"])) ** 2)
    np.testing.assert_allclose(m["enc_mse"], mse, rtol=1e-5)
    np.testing.assert_allclose(m["enc_ce"], _ce(enc["logits"], np.asarray(ctx.aux["label"])),
                               rtol=1e-5)
    np.testing.assert_allclose(loss, m["g_adv"] + 10 * m["enc_mse"] + 10 * m["enc_ce"], rtol=1e-5)


def _changed(a, b):
    return any(not np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b),
                                                        strict=True))


@pytest.mark.parametrize(
    "name,trained,fixed",
    [
        ("vanilla", {"g"}, {"d", "prior"}),
        ("clustergan", {"g", "enc"}, {"d", "prior"}),
        ("gmgan_static", {"g"}, {"d", "prior"}),
        ("gmgan_dynamic", {"g", "prior"}, {"d"}),
    ],
)
def test_g_update_trains_exactly_its_networks(name, trained, fixed):
    """G's step moves G, the encoder and a dynamic prior, never D or a static prior. (A frozen
    network is an argument of the updates, not one of `params`, so it has no way to move.)"""
    config, model, params, batch = _setup(name)
    assert set(model.g_trains) == trained
    opt = optimizers(config, 1000, model.trained)
    opt_state = {n: opt[n].init(params[n]) for n in model.trained}
    frozen = {}  # none of these objectives reads one
    new, _, metrics = jax.jit(
        lambda p, s: g_update(model, opt, p, s, batch, jax.random.PRNGKey(5), frozen)
    )(params, opt_state)
    chex.assert_tree_all_finite(metrics)
    for n in trained:
        assert _changed(params[n], new[n]), n
    for n in fixed:
        chex.assert_trees_all_equal(params[n], new[n])
    d_params, _, _ = d_update(model, opt["d"], params, opt_state["d"], batch,
                              jax.random.PRNGKey(6), frozen)
    assert _changed(params["d"], d_params)


@pytest.mark.parametrize(
    "name,field,value,message",
    [
        ("gmgan_supervised", "num_classes", 5,
         "objective.num_classes=5 does not match the prior's 10 components"),
        ("vanilla", "bogus", 1, "objective.bogus: no such field for objective 'bce'"),
        ("san", "loss", "lsgan", "objective.loss='lsgan': valid: bce, hinge"),
        ("clustergan", "adversarial", "hinge", "objective.adversarial='hinge': valid: bce"),
        ("vanilla", "name", "nope", "unknown objective.name 'nope'; valid: bce, clustergan"),
    ],
)
def test_bad_objective_fields_are_one_line(name, field, value, message):
    config = load_variant_config(name)
    config.objective[field] = value
    with pytest.raises(ValueError, match=re.escape(message)):
        variants.build(config)


def test_latent_objectives_need_a_labelled_prior():
    config = load_variant_config("clustergan")
    config.prior = {"name": "gaussian", "latent_dim": 30}
    with pytest.raises(ValueError, match="objective clustergan needs a prior with labelled"):
        variants.build(config)


def test_mmgan_is_the_reports_algorithm():
    """Team 003's Algorithm 1 written out by hand: the critic compares each real x_r with
    x_f = G([z_n | p_E(x_r)]) (same noise as ctx.fake = G([z_n | y^p])); G and E minimise the
    reversed relativistic loss + α·CE(E(x_f^p), y^p), E learning through both terms."""
    config, model, params, batch = _setup("mmgan")
    ctx = _context(model, params, batch)
    alpha, k = config.objective.alpha, config.prior.num_classes
    d = lambda x: model.nets["d"].apply(params["d"], x)["logit"]
    enc = lambda p, x: model.nets["enc"].apply(p, x)["logits"]
    z_n = ctx.aux["noise"]
    np.testing.assert_array_equal(ctx.z[:, :-k], z_n)

    def x_f(p_enc):
        probs = jax.nn.softmax(enc(p_enc, batch.x))
        return model.nets["g"].apply(params["g"], jnp.concatenate([z_n, probs], 1))

    c_r, c_f = d(batch.x), d(x_f(params["enc"]))
    log_s = jax.nn.log_sigmoid
    want_d = -np.mean(log_s(c_r - c_f))
    log_p = jax.nn.log_softmax(enc(params["enc"], ctx.fake))
    want_g = -np.mean(log_s(c_f - c_r)) - alpha * np.mean(log_p[np.arange(B), ctx.aux["label"]])
    d_loss, _ = model.objective.d_loss(ctx)
    g_loss, _ = model.objective.g_loss(ctx)
    np.testing.assert_allclose(d_loss, want_d, rtol=1e-5)
    np.testing.assert_allclose(g_loss, want_g, rtol=1e-5)
    # E is trained through x_f's labels too: without the α term its gradient is still non-zero
    no_ce = objectives.build({"name": "mmgan", "alpha": 1e-30}, model.prior)
    grad = jax.grad(lambda p: no_ce.g_loss(ctx._replace(params=params | {"enc": p}))[0])(
        params["enc"])
    assert max(float(jnp.abs(g).max()) for g in jax.tree.leaves(grad)) > 0
    # the critic scores single images, so the samplers can read it
    assert model.objective.d_extra_inputs == 0 and model.objective.realness is not None


def test_salimans_feature_matching_is_the_feature_distance_alone():
    """G's loss is ‖mean f(G(z)) − mean f(x)‖² on D's last hidden layer, with no BCE term; the
    additive form on the same features adds G's BCE to the per-feature mean of that distance."""
    _, model, params, batch = _setup("feature_matching_salimans")
    ctx = _context(model, params, batch)
    feats = lambda x: model.nets["d"].apply(params["d"], x)["features"]
    gap = feats(ctx.fake).mean(0) - feats(ctx.real).mean(0)
    loss, metrics = model.objective.g_loss(ctx)
    np.testing.assert_allclose(loss, jnp.sum(gap**2), rtol=1e-5)
    assert float(metrics["g_adv"]) > 0  # reported, not trained on

    _, additive, _, _ = _setup("feature_matching_salimans", objective={"adversarial": True})
    loss, metrics = additive.objective.g_loss(ctx)
    np.testing.assert_allclose(loss, metrics["g_adv"] + jnp.mean(gap**2), rtol=1e-5)
    d_loss, _ = model.objective.d_loss(ctx)  # D keeps the template's BCE
    np.testing.assert_allclose(d_loss, additive.objective.d_loss(ctx)[0], rtol=1e-6)


def test_salimans_feature_matching_needs_d_features():
    with pytest.raises(ValueError, match="objective.adversarial=False .* objective.network='d'"):
        _setup("feature_matching_salimans", objective={"network": "classifier"})
