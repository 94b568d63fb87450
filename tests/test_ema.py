"""An EMA of G's weights (`--config.ema_decay=d`): ema ← d·ema + (1 − d)·G after every G step,
from G's initial weights. Off (d = 0) the state is today's; on, it is checkpointed, resumed bit
for bit, vmapped over a population, and is the G that sampling and the grids use (`--raw_g`: G)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import chex
import jax
import numpy as np
import optax
import pytest
from test_checkpoint import _config, _restore
from test_population import STEPS as POPULATION_STEPS
from test_population import _config as population_config
from test_population import _trained

from jaxgan import pixels, population
from jaxgan.config import validate
from jaxgan.data.mnist import load_mnist
from jaxgan.generate import generate_raw
from jaxgan.mesh import make_mesh
from jaxgan.run import Run
from jaxgan.samplers import source
from jaxgan.state import EMA, for_sampling, g_name
from jaxgan.train import ConfigMismatch, Trainer, _grids, train_and_evaluate

ROOT = Path(__file__).resolve().parents[1]
DECAY = 0.9  # far from 1, so a few steps move the EMA visibly off G's initial weights
STEPS = 4


def _paths(tree) -> list[str]:
    return [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_flatten_with_path(tree)[0]]


@pytest.fixture(scope="module")
def trained(small_mnist):
    """The raw G after each of STEPS one-step dispatches, the final states with the EMA on and
    off."""
    images, labels = load_mnist(small_mnist, "train")
    states = {}
    for decay in (0.0, DECAY):
        trainer = Trainer(_config(small_mnist, STEPS, ema_decay=decay), make_mesh(), len(images))
        data = trainer.put_data(images, labels)
        state = trainer.init_state()
        history = [jax.device_get(state.params)]  # before the run donates `state`
        for _ in range(STEPS):
            state, _ = trainer.run(state, data, 1)
            history.append(jax.device_get(state.params))
        states[decay] = jax.device_get(state), history
    return states


def test_the_ema_is_optaxs_incremental_update_of_each_steps_g(trained):
    """Recomputed from the raw G after every step: bit for bit by optax's helper compiled alone,
    and by hand in float64 to float32 rounding (XLA may fuse s·g + (1 − s)·e into one FMA)."""
    _, history = trained[DECAY]
    chex.assert_trees_all_equal(history[0][EMA], history[0]["g"])  # it starts as G
    step_size = 1.0 - DECAY  # optax.incremental_update(new, old, s) = s·new + (1 − s)·old
    update = jax.jit(lambda g, e: optax.incremental_update(g, e, step_size))
    ema, by_hand = history[0]["g"], jax.tree.map(np.float64, history[0]["g"])
    for params in history[1:]:
        ema = jax.device_get(update(params["g"], ema))
        chex.assert_trees_all_equal(params[EMA], ema)
        by_hand = jax.tree.map(lambda g, e: DECAY * e + (1 - DECAY) * np.float64(g),
                               params["g"], by_hand)
        for got, want in zip(jax.tree.leaves(params[EMA]), jax.tree.leaves(by_hand), strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)
    final = history[-1]
    assert not np.allclose(jax.tree.leaves(final[EMA])[0], jax.tree.leaves(final["g"])[0])
    assert not np.allclose(jax.tree.leaves(final[EMA])[0], jax.tree.leaves(history[0]["g"])[0])


def test_the_ema_leaves_training_as_it_was(trained):
    """G, D, the optimisers and the keys follow the same bits with the EMA on as off; off, the
    state has today's tree paths (no EMA entry)."""
    off, on = trained[0.0][0], trained[DECAY][0]
    assert set(off.params) == {"g", "d", "prior"} and set(on.params) == {"g", "d", "prior", EMA}
    on_without = on.replace(params={k: v for k, v in on.params.items() if k != EMA})
    assert _paths(on_without) == _paths(off)
    chex.assert_trees_all_equal(on_without, off)


def test_a_bad_decay_is_refused_in_one_line(small_mnist, tmp_path):
    for decay in (1.0, -0.1, 1.5):
        with pytest.raises(ValueError) as info:
            train_and_evaluate(_config(small_mnist, 1, ema_decay=decay), tmp_path / "run", False)
        message = str(info.value)
        assert f"ema_decay={decay!r} (must be in [0, 1); 0: no EMA of G)" in message
        assert "\n" not in message
    assert not (tmp_path / "run").exists()
    validate(_config(small_mnist, 1, ema_decay=0.0))
    validate(_config(small_mnist, 1, ema_decay=0.999))


@pytest.fixture(scope="module")
def ema_runs(small_mnist, tmp_path_factory):
    """(straight workdir, its final state, resumed workdir, its final state): STEPS steps with the
    EMA on, straight and stopped at STEPS / 2."""
    def config(steps):
        return _config(small_mnist, steps, ema_decay=DECAY, steps_per_call=2, checkpoint_every=2)

    straight_dir = tmp_path_factory.mktemp("ema_straight")
    straight = jax.device_get(train_and_evaluate(config(STEPS), straight_dir, False))
    resumed_dir = tmp_path_factory.mktemp("ema_resumed")
    train_and_evaluate(config(STEPS // 2), resumed_dir, False)
    resumed = jax.device_get(train_and_evaluate(config(STEPS), resumed_dir, False))
    return straight_dir, straight, resumed_dir, resumed


def test_the_ema_is_checkpointed_and_resumes_bit_for_bit(ema_runs, trained, small_mnist):
    straight_dir, straight, resumed_dir, resumed = ema_runs
    assert EMA in straight.params
    chex.assert_trees_all_equal(straight, resumed)
    chex.assert_trees_all_equal(straight.params, trained[DECAY][0].params)  # k=2 vs k=1 steps
    for workdir in (straight_dir, resumed_dir):
        step, restored = _restore(workdir, straight)
        assert step == STEPS
        chex.assert_trees_all_equal(restored, straight)
    # the decay defines the run: another one (or none) is refused, naming the field
    for decay in (0.5, 0.0):
        with pytest.raises(ConfigMismatch, match=f"ema_decay: saved {DECAY!r}, now {decay!r}"):
            train_and_evaluate(_config(small_mnist, STEPS, ema_decay=decay), straight_dir, False)


def test_sampling_uses_the_ema_and_raw_g_picks_g(ema_runs):
    workdir, straight = ema_runs[0], ema_runs[1]
    ema_run, raw_run = Run.open(workdir), Run.open(workdir, raw_g=True)
    state, raw = ema_run.state, raw_run.state
    assert EMA not in state.params and EMA not in raw.params
    chex.assert_trees_all_equal(state.params["g"], straight.params[EMA])
    chex.assert_trees_all_equal(raw.params["g"], straight.params["g"])
    z = ema_run.model.prior.sample(straight.params["prior"], jax.random.PRNGKey(0), 8)[0]
    g = ema_run.model.nets["g"].apply
    # the samplers' source of a training state, and of an opened run, generate with the EMA
    for s in (straight, state):
        np.testing.assert_array_equal(source(ema_run, s).generate(z), g(straight.params[EMA], z))
    a, config = generate_raw(ema_run, 8), ema_run.config
    b = generate_raw(raw_run, 8)
    assert a.shape == b.shape == (8, 784) and not np.allclose(a, b)
    assert g_name(config) == "EMA G (decay 0.9)" and g_name(config, raw_g=True) == "raw G"
    assert g_name(_config("", 1)) is None

    from jaxgan.report import sample_run

    assert "seed 0, EMA G (decay 0.9))" in sample_run(ema_run, 8).description
    assert "seed 0, raw G)" in sample_run(raw_run, 8).description


@pytest.mark.slow
def test_bin_sample_raw_g_writes_gs_samples_and_says_so(ema_runs, tmp_path):
    workdir = ema_runs[0]
    out = tmp_path / "raw"
    r = subprocess.run(
        [sys.executable, str(ROOT / "bin" / "sample.py"), f"--workdir={workdir}", f"--out={out}",
         "--num_samples=8", "--format=npz", "--raw_g"],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert "(half, prior latents, raw G)" in r.stdout
    raw = generate_raw(Run.open(workdir, raw_g=True), 8)
    with np.load(out / "samples.npz") as f:
        np.testing.assert_array_equal(f["images"], pixels.digits(raw))


def test_the_grids_show_the_ema(ema_runs, small_mnist, tmp_path):
    straight = ema_runs[1]
    trainer = Trainer(_config(small_mnist, STEPS, ema_decay=DECAY), make_mesh(),
                      len(straight.perm))
    key = jax.random.PRNGKey(0)
    for name, state in (("train", straight), ("ema", for_sampling(straight)),
                        ("raw", for_sampling(straight, raw_g=True))):
        _grids(trainer, state, key, 4, tmp_path, f"{name}.png")
    read = lambda name: (tmp_path / "grids" / f"{name}.png").read_bytes()  # noqa: E731
    assert read("train") == read("ema") != read("raw")


@pytest.mark.slow
def test_a_population_keeps_each_members_ema():
    """Members axis on the EMA; member 1 equals the single run of its seed: initially bit for bit,
    after training to test_population's tolerance."""
    pop = population_config(num_seeds=2, seed=5, ema_decay=DECAY)
    pop_init, (pop_state, _) = _trained(pop)
    pop_state = jax.device_get(pop_state)
    assert all(leaf.shape[0] == 2 for leaf in jax.tree.leaves(pop_state.params[EMA]))
    one_init, (one_state, _) = _trained(population.member_config(pop, 1))
    chex.assert_trees_all_equal(population.select(pop_init, 1), one_init)
    mine, theirs = population.select(pop_state, 1).params[EMA], one_state.params[EMA]
    for a, b in zip(jax.tree.leaves(mine), jax.tree.leaves(theirs), strict=True):
        diff = np.abs(np.asarray(a) - np.asarray(b))
        assert diff.max() <= 2 * pop.optim.g.lr * POPULATION_STEPS + 1e-6
        assert np.mean(diff > 1e-5 * (1 + np.abs(b))) < 0.01
    g0 = jax.tree.leaves(pop_state.params[EMA])[0]
    assert not np.allclose(g0[0], g0[1])
