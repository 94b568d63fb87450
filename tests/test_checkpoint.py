"""Checkpoints and resumption through `train_and_evaluate` on the real MNIST train split.

2N steps straight equal N steps, a checkpoint, a restart from the workdir and N more steps,
bit for bit on CPU; a workdir of another config is refused; a non-finite loss stops the run and
keeps the last good checkpoint.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import checkpoint
from jaxgan.cli import override
from jaxgan.config import flatten
from jaxgan.mesh import make_mesh
from jaxgan.train import (
    ConfigMismatch,
    NonFiniteLoss,
    Trainer,
    epoch_of,
    optimizers,
    total_steps,
    train_and_evaluate,
)
from jaxgan.variant_files import load_variant_config
from jaxgan.variants import UnknownVariant

N = 20
# what is saved and restored does not depend on the widths
NARROW = {"g_hidden": (64, 128), "d_hidden": (128, 64)}


# the flat names these tests use -> their place in the config's subtrees
ALIASES = {"lr_g": "optim.g.lr", "lr_d": "optim.d.lr", "b2": "optim.d.b2",
           "latent_dim": "prior.latent_dim", "lr_halve_epoch": "optim.lr_halve_epoch",
           "san_loss": "objective.loss"}


def _config(data_dir, num_steps, variant="vanilla", **overrides):
    config = load_variant_config(variant)
    config.num_steps = num_steps
    config.steps_per_call = 10
    config.checkpoint_every = 10
    config.log_every = 5
    config.grid_samples = 4
    config.data_dir = str(data_dir)
    config.nets.update(NARROW)
    override(config, {ALIASES.get(k, k): v for k, v in overrides.items()})
    return config


def _metrics(workdir: Path) -> list[dict]:
    return [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]


def _restore(workdir: Path, like, warn=print):
    mngr = checkpoint.manager(workdir, create=False)
    try:
        state, step = checkpoint.restore_latest(mngr, like, warn)
        return step, jax.device_get(state)
    finally:
        mngr.close()


@pytest.fixture(scope="module")
def runs(small_mnist, tmp_path_factory):
    """(straight workdir, its final state, resumed workdir, its states after N and 2N steps)."""
    straight_dir = tmp_path_factory.mktemp("straight")
    straight = jax.device_get(train_and_evaluate(_config(small_mnist, 2 * N), straight_dir, False))
    resumed_dir = tmp_path_factory.mktemp("resumed")
    half = jax.device_get(train_and_evaluate(_config(small_mnist, N), resumed_dir, False))
    resumed = jax.device_get(train_and_evaluate(_config(small_mnist, 2 * N), resumed_dir, False))
    return straight_dir, straight, resumed_dir, half, resumed


def test_resume_is_bit_identical(runs):
    straight_dir, straight, resumed_dir, half, resumed = runs
    assert int(half.step) == N
    assert int(straight.step) == int(resumed.step) == 2 * N
    chex.assert_trees_all_equal(straight, resumed)
    # the final checkpoints hold that same state
    for workdir in (straight_dir, resumed_dir):
        step, restored = _restore(workdir, straight)
        assert step == 2 * N
        chex.assert_trees_all_equal(restored, straight)


def test_resume_continues_rather_than_restarts(runs):
    """The second call logged only steps N+1..2N, and its losses equal the straight run's."""
    straight_dir, _, resumed_dir, _, _ = runs
    straight_rows, resumed_rows = _metrics(straight_dir), _metrics(resumed_dir)
    steps = [row["step"] for row in resumed_rows]
    assert steps == list(range(5, 2 * N + 1, 5))  # each logged step once: no restart from 0
    assert resumed_rows == straight_rows  # same losses, bit for bit (JSON floats round-trip)


def test_checkpoint_round_trip(runs, tmp_path):
    """save/restore_latest of a whole TrainState, on a fresh manager, is exact."""
    _, state, _, _, _ = runs
    trainer = Trainer(_config("", 1), make_mesh(jax.devices()[:1]), len(state.perm))
    like = trainer.init_state()
    mngr = checkpoint.manager(tmp_path, keep=2)
    assert checkpoint.restore_latest(mngr, like) is None
    assert (tmp_path / "checkpoints").is_dir()
    checkpoint.save(mngr, state)
    mngr.close()
    step, restored = _restore(tmp_path, like)
    assert step == 2 * N
    chex.assert_trees_all_equal(restored, state)


@pytest.mark.parametrize("field,value", [("prior.latent_dim", 64), ("optim.d.lr", 1e-3),
                                         ("objective.name", "hinge"), ("prior.std", 0.5)])
def test_other_config_in_workdir_is_refused(runs, small_mnist, field, value):
    """One line naming the field, before anything is built; nothing in the workdir changes."""
    straight_dir = runs[0]
    before = (straight_dir / "config.json").read_text()
    config = _config(small_mnist, 2 * N)
    override(config, {field: value})
    saved = flatten(json.loads(before))[field]
    with pytest.raises(ConfigMismatch) as info:
        train_and_evaluate(config, straight_dir, False)
    message = str(info.value)
    assert str(straight_dir) in message
    assert f"{field}: saved {saved!r}, now {value!r}" in message
    assert "different config" in message
    assert (straight_dir / "config.json").read_text() == before  # nothing overwritten


def test_run_fields_may_change_on_resume(runs, small_mnist):
    """num_steps, log_every, ... steer the run: a workdir at its end just returns its state."""
    straight_dir, straight = runs[0], runs[1]
    config = _config(small_mnist, 2 * N, log_every=7, keep_checkpoints=5, steps_per_call=3)
    state = jax.device_get(train_and_evaluate(config, straight_dir, False))
    chex.assert_trees_all_equal(state, straight)


def test_unknown_variant_lists_the_valid_ones(tmp_path, small_mnist):
    config = _config(small_mnist, 1)
    config.variant = "no_such_gan"
    with pytest.raises(UnknownVariant, match="'no_such_gan'; valid: clustergan, feature_matching"):
        train_and_evaluate(config, tmp_path / "run", False)
    assert not (tmp_path / "run").exists()
    with pytest.raises(ValueError, match="'no_such_gan'.*san, unrolled, vanilla, wgan, wgan_gp"):
        load_variant_config("no_such_gan")


def test_non_finite_loss_stops_and_keeps_the_last_checkpoint(small_mnist, tmp_path):
    """G lr 1e30: step 1's losses are finite (they precede the update); from step 2 G's output is
    NaN. With a checkpoint after every step, the run stops at step 2 and keeps step 1's."""
    config = _config(small_mnist, 6, lr_g=1e30, steps_per_call=1, checkpoint_every=1, log_every=1)
    with pytest.raises(NonFiniteLoss) as info:
        train_and_evaluate(config, tmp_path, False)
    message = str(info.value)
    assert "at step 2" in message
    assert "last good checkpoint (step 1) is kept" in message
    assert str(tmp_path / "checkpoints") in message
    mngr = checkpoint.manager(tmp_path)
    try:
        assert list(mngr.all_steps()) == [1]
    finally:
        mngr.close()
    assert [row["step"] for row in _metrics(tmp_path)] == [1]
    assert (tmp_path / "losses.png").is_file()


@pytest.mark.parametrize(
    "field,value,expected",
    [
        ("batch_size", 0, "batch_size=0 (must be an integer >= 1)"),
        ("n_critic", 0, "n_critic=0 (must be an integer >= 1)"),
        ("steps_per_call", 0, "steps_per_call=0 (must be an integer >= 1)"),
        ("log_every", 0, "log_every=0 (must be an integer >= 1)"),
        ("lr_d", -1.0, "optim.d.lr=-1.0: must be > 0"),
        ("b2", 1.0, "optim.d.b2=1.0: must be in [0, 1)"),
        ("latent_dim", 0, "prior.latent_dim: 0 must be >= 1"),
    ],
)
def test_unusable_values_are_refused_before_anything_is_written(
    tmp_path, small_mnist, field, value, expected
):
    with pytest.raises(ValueError) as info:
        train_and_evaluate(_config(small_mnist, 1, **{field: value}), tmp_path / "run", False)
    assert expected in str(info.value)
    assert not (tmp_path / "run").exists()


def test_unknown_san_loss_lists_the_valid_ones(tmp_path, small_mnist):
    config = _config(small_mnist, 1, variant="san", san_loss="lsgan")
    with pytest.raises(ValueError, match="objective.loss='lsgan': valid: bce, hinge"):
        train_and_evaluate(config, tmp_path / "run", False)


def test_batch_larger_than_the_data_is_refused(tmp_path, small_mnist):
    with pytest.raises(ValueError, match="batch_size=70000 exceeds the 2000 images"):
        train_and_evaluate(_config(small_mnist, 1, batch_size=70000), tmp_path, False)


def test_a_run_stopped_before_its_first_checkpoint_leaves_the_workdir_usable(tmp_path, small_mnist):
    """config.json and an empty checkpoints/ from an interrupted first run do not lock the workdir
    to their config, and their metrics rows are dropped."""
    (tmp_path / "config.json").write_text(json.dumps(_config(small_mnist, N, lr_d=1e-3).to_dict()))
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "metrics.jsonl").write_text(json.dumps({"step": 5, "d_loss": 123.0}) + "\n")
    train_and_evaluate(_config(small_mnist, 10), tmp_path, False)
    rows = _metrics(tmp_path)
    assert [row["step"] for row in rows] == [5, 10] and rows[0]["d_loss"] != 123.0


def test_resume_from_an_earlier_checkpoint_redoes_the_logged_steps_once(
    runs, small_mnist, tmp_path
):
    """A run killed after logging steps past its last checkpoint: resuming drops those rows and
    logs the same values again, once."""
    straight_dir = runs[0]
    shutil.copytree(straight_dir, tmp_path / "run")
    workdir = tmp_path / "run"
    shutil.rmtree(workdir / "checkpoints" / str(2 * N))  # the last save is lost; N + 10 remains
    train_and_evaluate(_config(small_mnist, 2 * N), workdir, False)
    assert _metrics(workdir) == _metrics(straight_dir)


@pytest.mark.parametrize("n_critic,total,boundaries", [(1, 2 * 937, [937, 1874]),
                                                        (5, 375, [188, 375])])
def test_epochs_count_data_passes_whatever_n_critic(n_critic, total, boundaries):
    """937 full batches of 64 per epoch; with n_critic D steps per G step, `--epochs=2` runs the
    G steps that complete 2 data passes, and epoch grids fall at the first G step past each."""
    config = _config("", 0, n_critic=n_critic, epochs=2)
    assert total_steps(config, 60000) == total
    ends = [s for s in range(1, total + 1)
            if epoch_of(config, 60000, s) > epoch_of(config, 60000, s - 1)]
    assert ends == boundaries


@pytest.mark.parametrize("n_critic,g_boundary,d_boundary", [(1, 937, 937), (2, 469, 937)])
@pytest.mark.parametrize("spelling", [{"lr_halve_epoch": 1}, {"optim.lr_decay_epochs": (1,)}])
def test_learning_rates_halve_after_lr_halve_epoch(n_critic, g_boundary, d_boundary, spelling):
    """Adam's first steps on a constant gradient move each weight by the learning rate; after the
    boundary (counted in each optimiser's own updates) by half of it, whether the halving is set
    as `lr_halve_epoch` or as the decay schedule it stands for."""
    config = _config("", 0, n_critic=n_critic, lr_g=1e-3, lr_d=3e-4, **spelling)
    config.optim.prior.lr = 1e-3
    opt = optimizers(config, 60000)
    for tx, lr, boundary in ((opt["g"], 1e-3, g_boundary), (opt["d"], 3e-4, d_boundary),
                             (opt["prior"], 1e-3, g_boundary)):
        params, grads = jnp.zeros(3), jnp.ones(3)
        state = tx.init(params)
        update = jax.jit(tx.update)
        sizes = []
        for _ in range(boundary + 2):
            step, state = update(grads, state, params)
            sizes.append(float(jnp.abs(step[0])))
        np.testing.assert_allclose(sizes[boundary - 1], lr, rtol=1e-4)
        np.testing.assert_allclose(sizes[boundary:], lr / 2, rtol=1e-4)
    assert load_variant_config("wgan_gp").optim.lr_decay_epochs == (150,)
    assert load_variant_config("vanilla").optim.lr_decay_epochs == ()


# --- damaged checkpoints, and the log up to each checkpoint -----------------------------------


def _damage(step_dir: Path, how: str) -> None:
    """Flips 16 bytes mid-file in, or truncates, each of the two largest files of a step."""
    files = sorted((p for p in step_dir.rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
    for path in files[-2:]:
        data = bytearray(path.read_bytes())
        if how == "flip":
            mid = len(data) // 2
            data[mid : mid + 16] = bytes(b ^ 0xFF for b in data[mid : mid + 16])
        else:
            data = data[: len(data) // 3]
        path.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def three_checkpoints_once(small_mnist, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("three") / "run"
    train_and_evaluate(_config(small_mnist, 3 * N // 2, checkpoint_every=N // 2), workdir, False)
    return workdir


@pytest.fixture
def three_checkpoints(three_checkpoints_once, tmp_path):
    """A fresh copy of a workdir of the straight run's config stopped at 3N/2, with checkpoints
    N/2, N and 3N/2."""
    return shutil.copytree(three_checkpoints_once, tmp_path / "run")


@pytest.mark.parametrize("how", ["flip", "truncate"])
def test_a_damaged_checkpoint_is_skipped_with_one_line(
    three_checkpoints, runs, small_mnist, how, capsys
):
    workdir = three_checkpoints
    _damage(workdir / "checkpoints" / str(3 * N // 2), how)
    like = jax.device_get(runs[1])
    lines = []
    step, _ = _restore(workdir, like, lines.append)
    assert step == N
    assert len(lines) == 2 and "checkpoint 30" in lines[0] and "damaged" in lines[0]
    assert "using checkpoint 20" in lines[1]
    assert "Traceback" not in capsys.readouterr().err
    # Resuming goes on from step N, sets the damaged step aside, and ends on the straight run.
    state = jax.device_get(train_and_evaluate(_config(small_mnist, 2 * N), workdir, False))
    chex.assert_trees_all_equal(state, runs[1])
    assert (workdir / "damaged_checkpoints" / str(3 * N // 2)).is_dir()
    assert _metrics(workdir) == _metrics(runs[0])


def test_no_intact_checkpoint_is_one_error(three_checkpoints, runs):
    for step in (N // 2, N, 3 * N // 2):
        _damage(three_checkpoints / "checkpoints" / str(step), "flip")
    with pytest.raises(checkpoint.CheckpointError, match="no intact checkpoint"):
        _restore(three_checkpoints, jax.device_get(runs[1]), lambda line: None)


def test_checkpoints_without_checksums_restore_unverified(three_checkpoints, runs):
    (three_checkpoints / "checkpoints" / str(3 * N // 2) / checkpoint.CHECKSUMS).unlink()
    lines = []
    step, _ = _restore(three_checkpoints, jax.device_get(runs[1]), lines.append)
    assert step == 3 * N // 2 and lines == [
        f"checkpoint 30 in {three_checkpoints / 'checkpoints'} has no checksums.json; not verified"
    ]


def test_checkpoints_without_their_config_are_refused(three_checkpoints, small_mnist):
    (three_checkpoints / "config.json").unlink()
    with pytest.raises(ConfigMismatch, match="holds checkpoints but no config.json"):
        train_and_evaluate(_config(small_mnist, 2 * N, latent_dim=64), three_checkpoints, False)
    assert not (three_checkpoints / "config.json").exists()  # not rewritten with the wrong one


def test_a_checkpoint_of_another_data_size_is_one_error(three_checkpoints, small_mnist, tmp_path):
    from jaxgan.data.mnist import write_subset

    other = write_subset(small_mnist, tmp_path / "other", {"train": 500, "test": 50})
    before = (three_checkpoints / "config.json").read_text()
    with pytest.raises(checkpoint.CheckpointError, match=r"perm has shape \(2000,\) there and "
                       r"\(500,\) here; a training set of another size"):
        train_and_evaluate(_config(other, 2 * N), three_checkpoints, False)
    assert (three_checkpoints / "config.json").read_text() == before


def test_a_workdir_saved_before_a_field_existed_resumes(three_checkpoints, small_mnist, runs):
    """A config.json without a field added since (here nets.g_out_scale, objective, and the
    optimiser fields Adam nodes lacked) counts as today's defaults: the run resumes and ends on the
    straight run's bits."""
    saved = json.loads((three_checkpoints / "config.json").read_text())
    del saved["nets"]["g_out_scale"], saved["objective"]
    for net in ("g", "d", "prior"):  # as adam() wrote them
        node = saved["optim"][net]
        saved["optim"][net] = {k: node[k] for k in ("lr", "b1", "b2", "weight_decay")}
    (three_checkpoints / "config.json").write_text(json.dumps(saved))
    state = train_and_evaluate(_config(small_mnist, 2 * N), three_checkpoints, False)
    state = jax.device_get(state)
    chex.assert_trees_all_equal(state, runs[1])


@pytest.mark.slow
def test_resume_is_bit_identical_with_an_encoder_and_a_learned_prior(small_mnist, tmp_path):
    """MMGAN's clustering net with a dynamic Gaussian-mixture prior: every named network and
    optimiser state (g, d, enc, prior) survives a checkpoint and resume bit for bit."""

    def config(steps):
        c = _config(small_mnist, steps, variant="mmgan", steps_per_call=2, checkpoint_every=2)
        c.prior = {"name": "gaussian_mixture", "latent_dim": 16, "num_components": 10,
                   "mean_range": 1.0, "sigma": 0.5, "dynamic": True}
        c.nets = {"g_hidden": (64, 128), "d_hidden": (128, 64), "enc_hidden": (128, 64)}
        return c

    straight = jax.device_get(train_and_evaluate(config(4), tmp_path / "a", False))
    train_and_evaluate(config(2), tmp_path / "b", False)
    resumed = jax.device_get(train_and_evaluate(config(4), tmp_path / "b", False))
    assert set(resumed.params) == {"g", "d", "enc", "prior"}
    assert set(resumed.opt_state) == {"g", "d", "enc", "prior"}
    chex.assert_trees_all_equal(straight, resumed)
    fresh = Trainer(config(4), make_mesh(jax.devices()[:1]), len(straight.perm)).init_state()
    for name in ("enc", "prior"):  # both trained, not just carried
        assert not np.array_equal(jax.tree.leaves(fresh.params[name])[0],
                                  jax.tree.leaves(straight.params[name])[0]), name


def test_a_workdir_of_the_old_flat_layout_is_one_line(three_checkpoints, small_mnist):
    from jaxgan.config import OldLayout
    from jaxgan.run import Run

    flat = {"variant": "vanilla", "latent_dim": 100, "lr_g": 2e-4, "lr_d": 2e-4}
    (three_checkpoints / "config.json").write_text(json.dumps(flat))
    config = _config(small_mnist, 2 * N)
    for action in (lambda: train_and_evaluate(config, three_checkpoints, False),
                   lambda: Run.open(three_checkpoints)):
        with pytest.raises(OldLayout, match="before its configs had subtrees"):
            action()
    assert json.loads((three_checkpoints / "config.json").read_text()) == flat
