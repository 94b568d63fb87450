"""The pure train step: one trace, 1 vs 4 devices, seeds, and every image once per epoch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from jaxgan import variants
from jaxgan.mesh import make_mesh
from jaxgan.pixels import to_unit
from jaxgan.population import create_state
from jaxgan.step import make_multi_step, make_step
from jaxgan.train import Trainer, optimizers
from jaxgan.variant_files import load_variant_config

BATCH = 64
BATCHES_PER_EPOCH = 5
N = BATCH * BATCHES_PER_EPOCH
ROOT = Path(__file__).resolve().parents[1]
# every variant shards its batch and averages its gradients the same way; clustergan's step in the
# paper's form (multidevice_check.FORMS) holds the most of what could go wrong across devices:
# the plain D's networks, WGAN-GP's gradient penalty (a gradient through the sharded batch), an
# encoder, 5 critic steps and labelled latents. `python tests/multidevice_check.py` adds vanilla,
# wgan_gp, hinge, san and gmgan_supervised.
MULTIDEVICE_VARIANTS = ("clustergan",)


def _images(n=N, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 28, 28), dtype=np.uint8)


def _labels(n=N):
    return np.arange(n, dtype=np.int32) % 10


def _data(images):
    return {"x": images.reshape(len(images), -1), "y": _labels(len(images))}


def _config(name="vanilla", **overrides):
    config = load_variant_config(name)
    config.batch_size = BATCH
    for k, v in overrides.items():
        setattr(config, k, v)
    return config


def test_to_unit():
    x = to_unit(jnp.array([0, 127, 128, 255], jnp.uint8))
    chex.assert_type(x, jnp.float32)
    np.testing.assert_allclose(x, [-1.0, 127 / 127.5 - 1, 128 / 127.5 - 1, 1.0], atol=1e-7)


@pytest.mark.parametrize("name,nets", [
    ("wgan_gp", None),
    ("clustergan", {"g_hidden": (32, 64), "d_hidden": (64, 32), "enc_hidden": (64, 32)}),
])
def test_step_traces_once_and_is_finite(name, nets):
    config = _config(name)
    if nets:  # an encoder, 5 critic steps: the shapes of the step, not its widths, are tested
        config.nets = nets
    comp = variants.build(config)
    opt = optimizers(config, N, comp.trained)
    mesh = make_mesh(jax.devices()[:1])
    step = make_step(comp, opt, BATCH, config.n_critic, mesh)
    chex.clear_trace_counter()
    multi = jax.jit(chex.assert_max_traces(make_multi_step(step, 2), n=1),
                    out_shardings=NamedSharding(mesh, P()))
    # placed as Trainer places them: replicated over the mesh, like the step's outputs
    state, data = jax.device_put(
        (create_state(config, comp, opt, N), _data(_images())),
        NamedSharding(mesh, P()),
    )
    for call in range(3):
        state, metrics = multi(state, data)
        assert int(state.step) == 2 * (call + 1)
    chex.assert_tree_all_finite((state.params, metrics))
    assert {"d_loss", "real_logit", "fake_logit", "d_grad_norm", "g_loss",
            "g_grad_norm"} <= set(metrics)
    chex.assert_tree_shape_prefix(metrics, (2,))
    chex.assert_type(state.step, jnp.int32)
    chex.clear_trace_counter()


def test_trainer_compiles_once_per_call_size():
    config = _config("vanilla")
    trainer = Trainer(config, make_mesh(jax.devices()[:1]), N)
    data = trainer.put_data(_images(), _labels())
    state = trainer.init_state()
    for _ in range(3):
        state, _ = trainer.run(state, data, 2)
    assert int(state.step) == 6
    assert list(trainer._compiled) == [2]
    compiled = trainer._compiled[2]
    if hasattr(compiled, "_cache_size"):  # a private jax API: the number of compiled versions
        assert compiled._cache_size() == 1


def test_same_seed_is_bit_identical_and_seeds_differ():
    """Fresh states from one seed train to the same bits; another seed gives other weights,
    keys and data order."""
    config = _config(seed=0)
    trainer = Trainer(config, make_mesh(jax.devices()[:1]), N)
    data = trainer.put_data(_images(), _labels())

    def train(seed):
        state = create_state(_config(seed=seed), trainer.model, trainer.opt, N)
        state, metrics = trainer.run(jax.device_put(state, trainer.replicated), data, 3)
        return jax.device_get((state, metrics))

    a, b, c = train(0), train(0), train(1)
    chex.assert_trees_all_equal(a, b)
    state_a, state_c = a[0], c[0]
    assert int(state_a.step) == int(state_c.step) == 3
    for x, y in zip(jax.tree.leaves(state_a.params), jax.tree.leaves(state_c.params), strict=True):
        assert not np.array_equal(x, y)
    assert not np.array_equal(state_a.perm, state_c.perm)
    assert not np.array_equal(state_a.key, state_c.key)


@pytest.mark.slow
def test_one_device_equals_four_devices():
    """tests/multidevice_check.py runs with 4 fake CPU devices (XLA_FLAGS set before jax loads)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "multidevice_check.py"), "--steps", "1",
         "--tol", "1e-5", "--max_fraction", "1e-2", "--variants", ",".join(MULTIDEVICE_VARIANTS),
         "--narrow", ",".join(MULTIDEVICE_VARIANTS)],
        capture_output=True, text=True, env=env, timeout=300, cwd=ROOT,
    )
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    diffs = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(diffs) == set(MULTIDEVICE_VARIANTS)
    for name, (worst, fraction, bound) in diffs.items():
        assert fraction <= 1e-2 and worst <= bound, f"{name}\n{proc.stderr[-2000:]}"
    assert proc.returncode == 0, proc.stderr[-2000:]


# ---------------------------------------------------------------- epochs


class _Probe(nn.Module):
    """A discriminator that records the index each real image encodes (pixels 0 and 1)."""

    record: Callable

    @nn.compact
    def __call__(self, x):
        b = self.param("b", nn.initializers.zeros, ())
        u8 = jnp.round((x + 1.0) * 127.5).astype(jnp.int32)
        ids = u8[:, 0] * 256 + u8[:, 1]
        jax.debug.callback(lambda i: self.record(np.asarray(i)), ids, ordered=True)
        return {"logit": b + 0.0 * jnp.sum(x, axis=-1)}


@pytest.mark.parametrize("n_critic", [1, 2])
def test_an_epoch_visits_every_image_once(n_critic):
    """Image i encodes i; the real halves of the D batches, epoch by epoch, are permutations
    of all N indices, in the order state.perm holds, and every epoch has a new order."""
    config = _config("vanilla", n_critic=n_critic)
    seen = []
    model = variants.build(config)
    comp = model._replace(nets=model.nets | {"d": _Probe(seen.append)})
    opt = optimizers(config, N, comp.trained)
    mesh = make_mesh(jax.devices()[:1])
    step = make_step(comp, opt, BATCH, n_critic, mesh)
    replicated = NamedSharding(mesh, P())
    one_step = jax.jit(make_multi_step(step, 1), out_shardings=replicated)
    ids = np.arange(N)
    images = np.zeros((N, 28, 28), np.uint8)
    images[:, 0, 0], images[:, 0, 1] = ids // 256, ids % 256
    state, data = jax.device_put(
        (create_state(config, comp, opt, N), _data(images)), replicated
    )
    epochs = 3
    perms = []
    d_steps = epochs * BATCHES_PER_EPOCH
    g_steps = -(-d_steps // n_critic)
    for _ in range(g_steps):
        state, _ = one_step(state, data)
        perms.append(np.asarray(state.perm))
    jax.effects_barrier()
    # D calls see 2B rows (real then fake); G calls see B fakes; init saw 1 row.
    real = [a[:BATCH] for a in seen if len(a) == 2 * BATCH]
    assert len(real) == g_steps * n_critic
    real = np.stack(real[:d_steps]).reshape(epochs, N)
    orders = []
    for e in range(epochs):
        assert sorted(real[e]) == list(range(N)), f"epoch {e} is not a permutation"
        orders.append(real[e])
        # the state holds the epoch's permutation while the epoch runs
        # (after G step s the state holds the order of D batch (s + 1) * n_critic - 1's epoch)
        s = (e + 1) * BATCHES_PER_EPOCH // n_critic - 1
        np.testing.assert_array_equal(perms[s], real[e])
    for e in range(1, epochs):
        assert not np.array_equal(orders[e], orders[e - 1])
    assert sorted(perms[-1]) == list(range(N))
