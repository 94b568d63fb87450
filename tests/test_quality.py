"""In-loop evaluation (`jaxgan.quality` through `train_and_evaluate`): its rows in metrics.jsonl
and TensorBoard, the same rows after a resume, the best checkpoint and a run started from it.

On the committed MNIST subset: 2,000 training images, so an epoch is 31 G steps at batch 64.
"""

from __future__ import annotations

import functools
import shutil

import jax
import numpy as np
import pytest
from test_checkpoint import NARROW

from jaxgan import quality, tensorboard
from jaxgan.metrics_log import read_rows
from jaxgan.train import BEST, ConfigMismatch, _best_fd, next_eval_step, train_and_evaluate
from jaxgan.variant_files import load_variant_config

EPOCH = 2000 // 64


def _config(data_dir, num_steps, **fields):
    config = load_variant_config("vanilla")
    config.num_steps = num_steps
    config.steps_per_call = 10
    config.checkpoint_every = 10
    config.log_every = 5
    config.grid_samples = 4
    config.eval_samples = 200
    config.data_dir = str(data_dir)
    config.nets.update(NARROW)
    config.update(fields)
    return config


def _eval_rows(workdir):
    return [r for r in read_rows(workdir / "metrics.jsonl") if r.get("eval")]


@pytest.fixture(scope="module")
def runs(small_mnist, tmp_path_factory):
    """(a run of 2 epochs straight, keeping its best; the same run cut at step 35, its last
    checkpoint lost, and resumed; both final states)."""
    make = functools.partial(quality.evaluator, cache_dir=str(tmp_path_factory.mktemp("cache")))
    straight = tmp_path_factory.mktemp("straight")
    config = _config(small_mnist, 2 * EPOCH, keep_best=True)
    final = train_and_evaluate(config, straight, False, make)
    resumed = tmp_path_factory.mktemp("resumed")
    first = _config(small_mnist, 35)
    train_and_evaluate(first, resumed, False, make)
    shutil.rmtree(resumed / "checkpoints" / "35")  # a crash before it: resume from 30
    again = train_and_evaluate(_config(small_mnist, 2 * EPOCH), resumed, False, make)
    return straight, jax.device_get(final), resumed, jax.device_get(again)


def test_rows_at_each_epoch_with_every_metric(runs):
    straight, *_ = runs
    rows = _eval_rows(straight)
    assert [(r["step"], r["epoch"]) for r in rows] == [(EPOCH, 1), (2 * EPOCH, 2)]
    for row in rows:
        assert set(row) == {"step", "epoch", "eval", *quality.IMAGE_METRICS}
        assert np.isfinite(row["frechet_distance"]) and row["frechet_distance"] > 0
        for m in ("precision", "recall", "coverage"):
            assert 0 <= row[m] <= 1
        assert 1 <= row["modes_covered"] <= 10
    assert (straight / "quality.png").is_file() and (straight / "losses.png").is_file()


def test_a_resumed_run_evaluates_as_if_it_never_stopped(runs):
    straight, final, resumed, again = runs
    assert _eval_rows(resumed) == _eval_rows(straight)  # same samples, same numbers
    # the dispatches that end at the epochs leave the training's bits as they were
    jax.tree.map(np.testing.assert_array_equal, final.params, again.params)


def test_tensorboard_holds_the_logged_scalars(runs):
    straight, _, resumed, _ = runs
    scalars = tensorboard.read_scalars(straight / tensorboard.FOLDER)
    rows = read_rows(straight / "metrics.jsonl")
    train = {r["step"]: r["d_loss"] for r in rows if not r.get("eval")}
    assert scalars["train/d_loss"] == {s: float(np.float32(v)) for s, v in train.items()}
    evals = {r["step"]: r["frechet_distance"] for r in rows if r.get("eval")}
    assert scalars["eval/frechet_distance"] == {s: float(np.float32(v)) for s, v in evals.items()}
    # the resumed run's events past its checkpoint were purged and written again
    assert tensorboard.read_scalars(resumed / tensorboard.FOLDER) == scalars


def test_the_best_checkpoint_and_a_run_started_from_it(runs, small_mnist, tmp_path):
    straight, *_ = runs
    rows = _eval_rows(straight)
    best = min(rows, key=lambda r: r["frechet_distance"])["step"]
    assert sorted(int(p.name) for p in (straight / BEST / "checkpoints").iterdir()) == [best]
    assert (straight / BEST / "config.json").is_file()
    # team 004's recipe: the best checkpoint, resumed at half the rates
    config = _config(small_mnist, best + 10, init_from=str(straight / BEST))
    config.optim.g.lr /= 2
    config.optim.d.lr /= 2
    state = train_and_evaluate(config, tmp_path / "half", False)
    assert int(state.step) == best + 10
    assert min(r["step"] for r in read_rows(tmp_path / "half" / "metrics.jsonl")) > best


def test_the_next_evaluation_step():
    config = _config("", 1)
    assert [next_eval_step(config, 2000, s) for s in (0, 30, 31, 32)] == [31, 31, 62, 62]
    config.eval_every = 2
    assert next_eval_step(config, 2000, 0) == 62
    config.eval_every, config.n_critic = 1, 5  # 31 batches: 7 G steps (35 batches) end epoch 1
    assert next_eval_step(config, 2000, 0) == 7


def test_keep_best_needs_an_evaluation_and_an_fd(small_mnist, tmp_path):
    with pytest.raises(ValueError, match="keep_best=True needs the in-loop evaluation"):
        train_and_evaluate(_config(small_mnist, 1, keep_best=True), tmp_path / "a", False)
    toy = _config(small_mnist, 1, keep_best=True, dataset="ring8")
    with pytest.raises(ValueError, match="ring8 has mode metrics"):
        train_and_evaluate(toy, tmp_path / "b", False, quality.evaluator)
    with pytest.raises(FileNotFoundError, match="init_from=.*no checkpoints folder"):
        train_and_evaluate(_config(small_mnist, 1, init_from=str(tmp_path)), tmp_path / "c",
                           False)


def test_a_run_from_a_checkpoint_keeps_its_networks_and_must_go_past_it(runs, small_mnist,
                                                                        tmp_path):
    straight, *_ = runs
    best = sorted(int(p.name) for p in (straight / BEST / "checkpoints").iterdir())[-1]
    other = _config(small_mnist, best + 10, init_from=str(straight / BEST))
    other.prior.std = 0.5
    with pytest.raises(ConfigMismatch, match="another prior.std; a run started from it"):
        train_and_evaluate(other, tmp_path / "a", False)
    with pytest.raises(ValueError, match=f"is at step {best}, and this run ends at step {best}"):
        train_and_evaluate(_config(small_mnist, best, init_from=str(straight / BEST)),
                           tmp_path / "b", False)


def test_keep_best_on_a_run_too_short_to_evaluate_is_refused(small_mnist, tmp_path):
    with pytest.raises(ValueError, match=f"ends at step 20, before its first in-loop evaluation "
                                         f"\\(step {EPOCH}\\)"):
        train_and_evaluate(_config(small_mnist, 20, keep_best=True), tmp_path, False,
                           quality.evaluator)


def test_a_resume_drops_a_best_checkpoint_past_its_own(runs, tmp_path):
    """A best checkpoint saved after the checkpoint a run resumes from belongs to the stretch it
    replays: it goes, and the best FD so far is the kept one's."""
    straight, *_ = runs
    copy = tmp_path / "run"
    shutil.copytree(straight, copy)
    rows = _eval_rows(copy)
    kept = sorted(int(p.name) for p in (copy / BEST / "checkpoints").iterdir())[-1]
    assert _best_fd(copy, rows, kept) == [r for r in rows if r["step"] == kept][0][
        "frechet_distance"]
    assert _best_fd(copy, rows, kept - 1) == float("inf")
    assert not (copy / BEST / "checkpoints" / str(kept)).exists()
