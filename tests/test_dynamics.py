"""The training-dynamics variants: unrolled, weight clipping, R1, MD-GAN, PR-divergence, feature
losses (the 2-D toys end to end are in test_population.py)."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import optim, regularizers
from jaxgan.config import rmsprop
from jaxgan.mesh import make_mesh
from jaxgan.objectives import Context, mdgan, prgan
from jaxgan.objectives.mdgan import log_likelihood, max_likelihood, simplex_vertices
from jaxgan.priors import gaussian
from jaxgan.train import Trainer
from jaxgan.variant_files import load_variant_config

N, B = 256, 32
NARROW = {"g_hidden": (32, 32), "d_hidden": (32, 32), "g_out_scale": 1.0}


def _run(config, steps, seed_data=0):
    """`steps` steps on N random 8-d points (single device): the state and the last metrics."""
    rng = np.random.default_rng(seed_data)
    x = rng.uniform(-1, 1, (N, 8)).astype(np.float32)
    trainer = Trainer(config, make_mesh(jax.devices()[:1]), N, data_dim=8)
    state, metrics = trainer.run(trainer.init_state(), trainer.put_data(x, np.zeros(N)), steps)
    return state, metrics


def _config(name, **objective):
    c = load_variant_config(name)
    c.batch_size, c.nets, c.prior.latent_dim = B, dict(NARROW), 4
    c.objective.update(objective)
    return c


def test_unrolled_with_zero_steps_is_the_plain_step():
    plain = _config("vanilla")
    plain.optim = load_variant_config("unrolled").optim
    a, _ = _run(plain, 1)
    b, _ = _run(_config("unrolled", steps=0, saturating=False), 1)
    chex.assert_trees_all_close(a.params, b.params, rtol=1e-6, atol=1e-7)


def test_unrolled_reads_d_after_its_look_ahead_updates():
    """G's loss is taken at D after `steps` applications of the context's D update."""
    from jaxgan.objectives import unrolled

    d = lambda p, x: {"logit": p["w"] * x[:, 0]}
    x = jnp.ones((4, 1))
    ctx = Context({"d": {"w": jnp.float32(0.5)}}, {"d": d}, x, jnp.zeros(4, int), x, None, {},
                  jax.random.PRNGKey(0), d_step=lambda p, s, k: ({"w": p["w"] + 1.0}, s),
                  d_opt_state=())
    for steps in (0, 1, 3):
        loss, _ = unrolled(gaussian(2), steps=steps, saturating=False).g_loss(ctx)
        np.testing.assert_allclose(loss, jax.nn.softplus(-(0.5 + steps)), rtol=1e-6)
    grad = jax.grad(lambda w: unrolled(gaussian(2), steps=2, saturating=True).g_loss(
        ctx._replace(params={"d": {"w": w}}))[0])(jnp.float32(0.5))
    assert np.isfinite(grad)  # differentiable through the unrolled updates


def test_weight_clipping_keeps_every_critic_weight_within_c():
    tx = optim.optimizer("d", rmsprop(1.0, clip=0.01))
    params = {"w": jnp.array([0.5, -0.003, 0.0]), "b": jnp.array([-2.0])}
    grads = {"w": jnp.array([-3.0, 1e-4, 0.0]), "b": jnp.array([5.0])}
    updates, _ = tx.update(grads, tx.init(params), params)
    new = jax.tree.map(lambda p, u: p + u, params, updates)
    assert all(float(jnp.max(jnp.abs(v))) <= 0.01 + 1e-7 for v in jax.tree.leaves(new))
    state, _ = _run(_config("wgan"), 1)  # the variant's critic after its 5 updates of one step
    assert max(float(jnp.max(jnp.abs(v))) for v in jax.tree.leaves(state.params["d"])) <= 0.01


def test_r1_of_a_linear_d_is_its_squared_weight_norm():
    x = jax.random.normal(jax.random.PRNGKey(0), (16, 5))
    assert float(regularizers.r1_penalty(lambda x: x @ jnp.zeros(5), x, x, None)) == 0.0
    w = jnp.arange(5.0)
    np.testing.assert_allclose(regularizers.r1_penalty(lambda x: x @ w, x, x, None), 30.0,
                               rtol=1e-6)


def test_mdgan_simplex_and_its_likelihood_bound():
    v = simplex_vertices(9)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(v.sum(0), 0.0, atol=1e-12)
    d = np.linalg.norm(v[:, None] - v[None], axis=-1)[~np.eye(10, dtype=bool)]
    np.testing.assert_allclose(d, d[0], rtol=1e-12)
    lam = max_likelihood(v, 0.5)
    probe = np.random.default_rng(0).uniform(-2.5, 2.5, (2000, 9)) * 0.3
    lk = np.exp(log_likelihood(np.concatenate([probe, v, np.zeros((1, 9))]), v, 0.5, np))
    assert lam >= lk.max() * (1 - 1e-9)
    # σ = 0.5 in 9-d: the mixture is unimodal, its maximum at the centroid (latent_priors.md §4.4)
    np.testing.assert_allclose(lam, np.exp(log_likelihood(np.zeros(9), v, 0.5, np)), rtol=1e-6)
    assert mdgan(gaussian(4), embedding_dim=9).d_outputs == 9  # its losses: test_objectives.py


def _stub_context(logit_real, logit_fake):
    """A context whose D returns fixed logits for the real then fake halves."""
    real, fake = jnp.zeros((4, 2)), jnp.ones((4, 2))
    d = lambda p, x: {"logit": jnp.where(x[:, 0] > 0.5, logit_fake, logit_real)}
    return Context({"d": {}}, {"d": d}, real, jnp.zeros(4, int), fake, None, {}, None)


@pytest.mark.parametrize("lam", [0.1, 1.0, 10.0])
def test_prgan_at_a_uniform_ratio_one(lam):
    # T = 0 everywhere gives r̂ = 1: α̂ = min(λ, 1), β̂ = min(1, 1/λ)
    loss, m = prgan(gaussian(2), lam=lam).g_loss(_stub_context(0.0, 0.0))
    np.testing.assert_allclose(m["pr_alpha"], min(lam, 1.0), rtol=1e-6)
    np.testing.assert_allclose(m["pr_beta"], min(1.0, 1.0 / lam), rtol=1e-6)
    np.testing.assert_allclose(loss, -0.5 * (min(lam, 1) + min(1, 1 / lam)), rtol=1e-6)


@pytest.mark.parametrize("name", ["feature_matching"])  # perceptual differs only in the distance
def test_feature_losses_read_the_frozen_classifier(name, small_mnist):
    from jaxgan.data.mnist import load_mnist

    images, labels = load_mnist(small_mnist, "train")
    c = load_variant_config(name)
    c.batch_size, c.prior.latent_dim = B, 8
    c.nets = {"g_hidden": (32,), "d_hidden": (32,), "g_out_scale": 1.0}
    trainer = Trainer(c, make_mesh(jax.devices()[:1]), len(images))
    assert set(trainer.frozen) == {"classifier"}
    _, metrics = trainer.run(trainer.init_state(), trainer.put_data(images, labels), 1)
    key = "feature_match" if name == "feature_matching" else "perceptual"
    assert float(metrics[key][-1]) > 0 and np.all(np.isfinite(metrics["g_loss"]))
    toy = _config(name)
    with pytest.raises(ValueError, match="784-d samples"):
        Trainer(toy, make_mesh(jax.devices()[:1]), N, data_dim=2)


def test_a_sampler_needs_a_per_sample_d_score():
    from types import SimpleNamespace

    from jaxgan import variants
    from jaxgan.samplers import NoCritic, source

    c = load_variant_config("vanilla")
    model = variants.build(c)
    model = model._replace(objective=model.objective._replace(realness=None))  # no D score
    trainer = SimpleNamespace(model=model, config=c)
    with pytest.raises(NoCritic, match="no usable D output"):
        source(trainer, None)
