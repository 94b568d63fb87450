"""The convolutional D (`nets.d=conv`): its outputs and layers, every objective's gradients through
it, a Trainer step and a sampler with it, and its refusal on the 2-D toys."""

from __future__ import annotations

import math
import re

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from scipy import stats
from test_objectives import SMALL_NETS, B, _setup
from test_step import N, _config, _images, _labels

from jaxgan import datasets, frozen, models, objectives, samplers, variants
from jaxgan.mesh import make_mesh
from jaxgan.samplers import ddls
from jaxgan.step import d_update, g_update
from jaxgan.train import Trainer, optimizers
from jaxgan.variant_files import load_variant_config, variant_names

CHANNELS = (4, 8)
CONV_NETS = SMALL_NETS | {"d": "conv", "d_channels": CHANNELS}
FEATURES = CHANNELS[-1] * 7 * 7  # 28 -> 14 -> 7


def _x(key=0, extra=0):
    return jax.random.uniform(jax.random.PRNGKey(key), (B, models.IMAGE_DIM + extra),
                              minval=-1, maxval=1)


def _apply(module, x):
    params = module.init(jax.random.PRNGKey(1), x[:1])
    return params, module.apply(params, x)


# ---------------------------------------------------------------- outputs and layers


@pytest.mark.parametrize("num_outputs,san,extra", [(1, False, 0), (11, False, 0), (1, True, 0),
                                                   (1, False, 10), (9, False, 10)])
def test_outputs_have_the_mlp_d_contract(num_outputs, san, extra):
    module = models.ConvDiscriminator(CHANNELS, num_outputs, "san" if san else "dense")
    x = _x(extra=extra)
    params, out = _apply(module, x)
    chex.assert_tree_all_finite(out)
    chex.assert_shape(out["features"], (B, FEATURES + extra))
    if san:
        assert set(out) == {"logit", "fun", "dir", "features"}
        assert set(params["params"]) == {"TorchConv_0", "TorchConv_1", "w"}  # SAN's head
        chex.assert_shape([out["logit"], out["fun"], out["dir"]], (B,))
        np.testing.assert_allclose(out["fun"], out["logit"], rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(out["dir"], out["logit"], rtol=1e-6, atol=1e-7)
    elif num_outputs == 1:
        assert set(out) == {"logit", "features"}
        chex.assert_shape(out["logit"], (B,))
    else:
        assert set(out) == {"logits", "features"}
        chex.assert_shape(out["logits"], (B, num_outputs))
    if extra:  # y is appended to the conv features and reaches the head
        np.testing.assert_array_equal(out["features"][:, FEATURES:], x[:, models.IMAGE_DIM:])
        score = lambda x: jnp.sum(module.apply(params, x)["logit" if num_outputs == 1 else
                                                           "logits"])
        assert np.all(np.any(np.asarray(jax.grad(score)(x)[:, models.IMAGE_DIM:]) != 0, axis=1))


def test_each_output_depends_on_its_own_sample_only():
    """No batch statistics: the gradient penalty and R1 differentiate D per sample."""
    module = models.ConvDiscriminator(CHANNELS)
    x = _x()
    params = module.init(jax.random.PRNGKey(1), x[:1])
    grad = jax.grad(lambda x: module.apply(params, x)["logit"][0])(x)
    assert np.any(np.asarray(grad[0]) != 0)
    assert not np.any(np.asarray(grad[1:]))


def test_conv_layer_is_torch_conv2d():
    """TorchConv(c) computes `nn.Conv2d(in, c, 4, stride=2, padding=1)` (NHWC here)."""
    torch = pytest.importorskip("torch")
    x = np.array(jax.random.normal(jax.random.PRNGKey(0), (2, 28, 28, 3)))
    params, y = _apply(models.TorchConv(5), x)
    kernel, bias = (np.array(params["params"][k]) for k in ("kernel", "bias"))
    expect = torch.nn.functional.conv2d(
        torch.from_numpy(x.transpose(0, 3, 1, 2)), torch.from_numpy(kernel.transpose(3, 2, 0, 1)),
        torch.from_numpy(bias), stride=2, padding=1,
    ).numpy().transpose(0, 2, 3, 1)
    chex.assert_shape(y, (2, 14, 14, 5))
    np.testing.assert_allclose(y, expect, rtol=1e-5, atol=1e-5)


def test_default_layers_and_torch_init():
    """The default D: 1→64→128 channels then a dense head; every weight and bias
    U(±1/√fan_in), fan_in = in_channels·4·4 (conv) or the head's input width (dense)."""
    params = models.ConvDiscriminator().init(jax.random.PRNGKey(0), jnp.zeros((1, 784)))["params"]
    shapes = jax.tree.map(jnp.shape, params)
    assert shapes == {"TorchConv_0": {"kernel": (4, 4, 1, 64), "bias": (64,)},
                      "TorchConv_1": {"kernel": (4, 4, 64, 128), "bias": (128,)},
                      "TorchDense_0": {"kernel": (128 * 7 * 7, 1), "bias": (1,)}}
    fan_in = {"TorchConv_0": 16, "TorchConv_1": 64 * 16, "TorchDense_0": 128 * 7 * 7}
    for layer, arrays in params.items():
        for name, a in arrays.items():
            u = np.asarray(a, np.float64).ravel() * math.sqrt(fan_in[layer])
            assert np.max(np.abs(u)) <= 1 + 1e-6, (layer, name)
            assert stats.kstest(u, stats.uniform(loc=-1, scale=2).cdf).pvalue > 1e-4, (layer, name)


# ---------------------------------------------------------------- every objective through it


def _record_grads() -> optax.GradientTransformation:
    """An optimiser that leaves the parameters as they are and keeps the gradient as its state,
    so the real update functions hand back the gradient they computed."""
    return optax.GradientTransformation(
        lambda params: jax.tree.map(jnp.zeros_like, params),
        lambda grads, state, params=None: (jax.tree.map(jnp.zeros_like, grads), grads),
    )


def _assert_finite_nonzero(grads, what, may_vanish=()):
    for path, g in jax.tree_util.tree_flatten_with_path(grads)[0]:
        name = f"{what}{jax.tree_util.keystr(path)}"
        assert np.all(np.isfinite(g)), f"{name} is not finite"
        assert name in may_vanish or np.any(np.asarray(g) != 0), f"{name} is zero"


# A Wasserstein loss, or a hinge loss with every logit inside its margins (as at init), does not
# change when D's output shifts by a constant: the head's bias has exactly zero gradient.
HEAD_BIAS = "d['params']['TorchDense_0']['bias']"
# PR-GAN's G loss at λ = 1 has no gradient while D rates every fake r̂ ≥ 1 (as it may at init,
# with either D); below 1 it has one for any r̂ < 1/λ. D's loss does not depend on λ.
OBJECTIVE_OVERRIDES = {"prgan": {"lam": 0.5}}
CASES = [(name, OBJECTIVE_OVERRIDES.get(name, {})) for name in variant_names()]
CASES.append(("feature_matching", {"network": "d"}))


def test_the_cases_cover_every_objective():
    assert {load_variant_config(n).objective.name for n, _ in CASES} == set(objectives.OBJECTIVES)


@pytest.mark.parametrize("name,objective", CASES, ids=[f"{n}-{o}" if o else n for n, o in CASES])
def test_every_objective_trains_the_conv_d_and_g(name, objective):
    config, model, params, batch = _setup(name, CONV_NETS, objective)
    assert isinstance(model.nets["d"], models.ConvDiscriminator)
    nets = frozen.load(model.objective.frozen, models.IMAGE_DIM)
    record = _record_grads()

    _, d_grads, metrics = jax.jit(lambda p: d_update(
        model, record, p, record.init(p["d"]), batch, jax.random.PRNGKey(2), nets))(params)
    chex.assert_tree_all_finite(metrics)
    _assert_finite_nonzero(d_grads, "d", may_vanish={HEAD_BIAS})

    opt = optimizers(config, 1000, model.trained)
    opt_state = {n: opt[n].init(params[n]) for n in model.trained} | {"g": record.init(params["g"])}
    _, states, metrics = jax.jit(lambda p, s: g_update(
        model, opt | {"g": record}, p, s, batch, jax.random.PRNGKey(3), nets))(params, opt_state)
    chex.assert_tree_all_finite(metrics)
    _assert_finite_nonzero(states["g"], "g")


# ---------------------------------------------------------------- a run, a sampler, refusals


@pytest.mark.slow
def test_a_trainer_step_and_a_sampler_with_the_conv_d():
    """R1 (BCE + a per-sample input gradient) on the real Trainer, then DDLS through D."""
    config = _config("r1")
    config.nets.g_hidden = (32, 64)
    config.nets.d = "conv"
    config.nets.d_channels = CHANNELS
    trainer = Trainer(config, make_mesh(jax.devices()[:1]), N)
    data = trainer.put_data(_images(), _labels())
    state = trainer.init_state()
    d_init = jax.device_get(state.params["d"])
    state, metrics = trainer.run(state, data, 2)
    assert int(state.step) == 2
    chex.assert_tree_all_finite((state.params, metrics))
    for before, after in zip(jax.tree.leaves(d_init), jax.tree.leaves(state.params["d"]),
                             strict=True):
        assert not np.array_equal(before, after)
    source = samplers.source(trainer, state)
    critic = samplers.critic(source, None, jax.random.PRNGKey(0), calibrate=False)
    x, _ = ddls.sample(source, critic, jax.random.PRNGKey(1), 8, steps=2, batch=8)
    assert x.shape == (8, models.IMAGE_DIM) and np.all(np.isfinite(x))


def test_a_conv_d_on_a_toy_is_refused():
    config = load_variant_config("vanilla")
    datasets.use(config, "ring8")
    config.nets.d = "conv"
    with pytest.raises(ValueError, match=r"^nets.d='conv' needs 28×28 images \(784 features\), "
                                         r"not this dataset's 2-d samples"):
        Trainer(config, make_mesh(jax.devices()[:1]), 1000)


@pytest.mark.parametrize("field,value,message", [
    ("d", "resnet", "nets.d='resnet': valid: conv, mlp"),
    ("d_channels", (8, 8, 8, 8, 8), "nets.d_channels=(8, 8, 8, 8, 8): at most 4 stride-2 layers"),
    ("d_channels", (8, 0), "nets.d_channels=(8, 0): must be a tuple of widths >= 1"),
])
def test_bad_conv_fields_are_one_line(field, value, message):
    config = load_variant_config("vanilla")
    config.nets.d = "conv"
    config.nets[field] = value
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        variants.build(config)


def test_a_window_larger_than_its_input_is_a_clear_error():
    with pytest.raises(ValueError, match="does not fit a 2x2 input"):
        models._patches(jnp.zeros((1, 2, 2, 1)), kernel=4, stride=2, padding=0)


def test_a_registered_d_gets_its_own_fields_by_signature(monkeypatch):
    """`nets.d` picks a builder of `variants.DISCRIMINATORS`; the `config.nets` fields its
    signature names reach it, and become valid `nets` fields."""
    seen = {}

    def tiny_d(d_widths=(3,), *, objective, data_dim):
        seen.update(widths=d_widths, data_dim=data_dim)
        return models.Discriminator(tuple(d_widths), objective.d_outputs, objective.d_head)

    monkeypatch.setitem(variants.DISCRIMINATORS, "tiny", tiny_d)
    config = load_variant_config("vanilla")
    config.nets.d = "tiny"
    variants.build(config)
    assert seen == {"widths": (3,), "data_dim": models.IMAGE_DIM}
    with config.unlocked():
        config.nets.d_widths = (5,)
    params = variants.build(config).init(jax.random.PRNGKey(0))
    kernels = {a.shape for a in jax.tree.leaves(params["d"]) if a.ndim == 2}
    assert kernels == {(models.IMAGE_DIM, 5), (5, 1)}
    config.nets.d = "mlp"
    variants.build(config)  # d_widths is a nets field while tiny is registered, read by tiny alone
    monkeypatch.delitem(variants.DISCRIMINATORS, "tiny")
    with pytest.raises(ValueError, match="^nets.d_widths: no such field; valid: d, d_channels, "):
        variants.build(config)
