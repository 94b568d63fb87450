"""`train_and_evaluate(config, workdir)`: mesh, data on device, jitted loop, in-loop evaluation
(a scorer passed in), checkpoints, logs, TensorBoard."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P
from tqdm import tqdm

from jaxgan import (
    checkpoint,
    datasets,
    distributed,
    frozen,
    lock,
    metrics_log,
    population,
    signals,
    tensorboard,
    variants,
    viz,
)
from jaxgan import mesh as mesh_lib
from jaxgan.config import flatten, mismatches, read_saved, resolve_saved, to_json, validate
from jaxgan.files import write_atomic
from jaxgan.optim import optimizers
from jaxgan.state import TrainState, ema_decay, for_sampling
from jaxgan.step import make_multi_step, make_step
from jaxgan.variant_files import load_variant_config


class NonFiniteLoss(FloatingPointError):
    pass


class ConfigMismatch(ValueError):
    pass


# samples (n, data_dim) of a G -> metric -> value (`jaxgan.quality.evaluator` builds one)
Evaluator = Callable[[np.ndarray], dict[str, float]]
BEST = "best"  # the folder of the best in-loop FD's checkpoint (config.keep_best)


# ---------------------------------------------------------------- setup


def epoch_of(config, num_images: int, step: int) -> int:
    """Data epochs completed after `step` G steps (`n_critic` full batches each; the last partial
    batch of an epoch is dropped)."""
    return step * config.n_critic // (num_images // config.batch_size)


def next_eval_step(config, num_images: int, step: int) -> int:
    """The first G step after `step` that completes a multiple of `eval_every` data epochs."""
    epoch = -(-(epoch_of(config, num_images, step) + 1) // config.eval_every) * config.eval_every
    return -(-epoch * (num_images // config.batch_size) // config.n_critic)


def total_steps(config, num_images: int) -> int:
    """`num_steps`, else the G steps that complete `epochs` data epochs (rounded up)."""
    batches = int(config.epochs) * (num_images // config.batch_size)
    return int(config.num_steps) or -(-batches // config.n_critic)


def check_workdir_config(config, workdir: Path) -> None:
    """Refuses to resume a workdir whose saved config differs in a model-defining field."""
    saved_path = workdir / "config.json"
    if not checkpoint.has_checkpoint(workdir):
        return
    if not saved_path.is_file():
        raise ConfigMismatch(
            f"{workdir} holds checkpoints but no config.json to check them against; put the run's "
            "config.json back or use another --workdir"
        )
    saved = read_saved(saved_path)
    diff = mismatches(saved, config.to_dict())
    if diff:
        was, now = flatten(resolve_saved(saved).to_dict()), flatten(config.to_dict())
        details = ", ".join(f"{k}: saved {was.get(k)!r}, now {now.get(k)!r}" for k in diff)
        raise ConfigMismatch(
            f"{workdir} holds a checkpoint of a different config ({details}); "
            "use another --workdir or the same settings"
        )


class Trainer:
    """Everything compiled for one config: `run(state, k) -> (state, metrics)` with k steps."""

    def __init__(self, config, mesh: Mesh, num_images: int, data_dim: int | None = None):
        self.config, self.mesh = config, mesh
        if data_dim is None:
            data_dim = datasets.get(config.get("dataset", "mnist")).data_dim
        self.members = population.size(config)
        if config.batch_size % mesh.shape["data"]:
            raise ValueError(f"--batch_size={config.batch_size} must be a multiple of the "
                             f"{mesh.shape['data']} devices on the mesh's data axis")
        if self.members % mesh.shape["members"]:
            raise ValueError(f"a population of {self.members} does not split over the mesh's "
                             f"{mesh.shape['members']} member rows")
        self.model = variants.build(config, data_dim)
        self.frozen = frozen.load(self.model.objective.frozen, data_dim)
        self.opt = optimizers(config, num_images, self.model.trained)
        self.step = make_step(self.model, self.opt, config.batch_size, config.n_critic, mesh,
                              ema_decay(config))
        self.replicated = NamedSharding(mesh, P())
        self.state_sharding = mesh_lib.state_sharding(mesh, self.members)
        self.num_images = num_images
        self._compiled = {}

    def init_state(self) -> TrainState:
        state = population.create_state(self.config, self.model, self.opt, self.num_images)
        return jax.device_put(state, self.state_sharding)

    def put_data(self, samples: np.ndarray, labels: np.ndarray):
        """The training set on the device, once: `{"x": (N, D), "y": (N,) int32}`."""
        num_classes = self.model.objective.data_classes
        if num_classes and labels.max(initial=0) >= num_classes:
            raise ValueError(
                f"the data has labels up to {int(labels.max())} but the objective's D knows "
                f"{num_classes} classes (objective.num_classes)"
            )
        data = {"x": samples.reshape(len(samples), -1), "y": labels.astype(np.int32)}
        return jax.device_put(data, self.replicated)

    def run(self, state, data, num_steps: int):
        """`num_steps` steps in one dispatch (of every member of a population). The frozen
        networks the objective reads are an argument of the program, so they are neither baked
        into it nor saved."""
        if num_steps not in self._compiled:
            run = make_multi_step(self.step, num_steps)
            if self.members > 1:  # metrics: (members, num_steps); members on the mesh's rows
                run = jax.vmap(run, in_axes=(population.AXES, None, None),
                               out_axes=(population.AXES, 0), spmd_axis_name="members")
            self._compiled[num_steps] = jax.jit(
                run,
                donate_argnums=0,
                # the metrics on every device, so that every process can read them
                out_shardings=(self.state_sharding, self.replicated),
            )
        return self._compiled[num_steps](state, data, self.frozen)

    def generate(self, state, z):
        """G(z) with `state.params["g"]` (the raw G of a training state; `for_sampling` picks)."""
        return self.model.nets["g"].apply(state.params["g"], z)


# ---------------------------------------------------------------- the loop


def _samples(trainer: Trainer, state, key, n: int) -> list[np.ndarray]:
    """`n` samples of each member's sampling G (its EMA where the run keeps one), drawn with
    `key`: the same key gives the same latents at every call. With many processes, every one
    gathers the state and process 0 alone samples (the others get [])."""
    if distributed.count() > 1:  # the parameters alone: sampling reads nothing else
        state = TrainState(step=None, params=distributed.fetch(state.params), opt_state={},
                           key=None, data_key=None, perm=None)
        if not distributed.primary():
            return []
    out = []
    for i in range(trainer.members):
        member = for_sampling(state if trainer.members == 1 else population.select(state, i))
        z, _ = trainer.model.prior.sample(member.params["prior"], key, n)
        out.append(np.asarray(jax.device_get(trainer.generate(member, z))))
    return out


def _grids(trainer: Trainer, state, key, n: int, workdir: Path, name: str) -> list[Path]:
    """`grids/<name>`, or `grids/member_<i>/<name>` for each member of a population."""
    dataset = datasets.get(trainer.config.dataset)
    paths = []
    for i, samples in enumerate(_samples(trainer, state, key, n)):  # process 0's
        folder = workdir / "grids" / ("" if trainer.members == 1 else f"member_{i}")
        dataset.preview(samples, folder / name)
        paths.append(folder / name)
    return paths


def _scores(trainer: Trainer, state, key, evaluator: Evaluator) -> list[dict[str, float]]:
    """Each member's in-loop metrics, on `config.eval_samples` samples of its sampling G."""
    return [evaluator(s) for s in _samples(trainer, state, key, trainer.config.eval_samples)]


def _best_fd(workdir: Path, rows: list[dict], start: int) -> float:
    """The in-loop FD (mean over members) of the checkpoint in `<workdir>/best` (inf: none), after
    dropping any saved past `start` (a stretch the resumed run replays)."""
    folder = workdir / BEST / "checkpoints"
    steps = sorted(int(p.name) for p in folder.iterdir() if p.name.isdigit()) if folder.is_dir() \
        else []
    for step in [s for s in steps if s > start]:
        shutil.rmtree(folder / str(step))
    kept = [s for s in steps if s <= start]
    fds = [r["frechet_distance"] for r in rows
           if kept and r.get("eval") and r["step"] == kept[-1] and "frechet_distance" in r]
    return float(np.mean(fds)) if fds else float("inf")


# what a run started from another's checkpoint (`init_from`) may change besides the loop's fields
_RESTARTABLE = ("optim.g.lr", "optim.d.lr", "optim.prior.lr", "optim.enc.lr",
                "optim.lr_decay_epochs", "optim.lr_decay_factor", "optim.lr_halve_epoch")


def _start_from(source: Path, config, like):
    """The latest checkpoint of workdir `source` as the first state of a new run: the same
    config but for the rates, the schedule's epochs and the loop's fields."""
    if not (source / "checkpoints").is_dir():
        raise FileNotFoundError(f"--config.init_from={source}: no checkpoints folder there")
    if (source / "config.json").is_file():
        diff = [k for k in mismatches(read_saved(source / "config.json"), config.to_dict())
                if k not in _RESTARTABLE]
        if diff:
            raise ConfigMismatch(f"--config.init_from={source} was trained with another "
                                 f"{', '.join(diff)}; a run started from it may change only the "
                                 "rates, the schedule's epochs and the loop's fields")
    mngr = checkpoint.manager(source, create=False)
    try:
        restored = checkpoint.restore_latest(mngr, like)
    except checkpoint.CheckpointError as e:
        raise checkpoint.CheckpointError(
            f"--config.init_from={source}: {e} (a new run may change the rates, the schedule's "
            "epochs and the loop's fields, not the networks, the prior or the optimisers)"
        ) from None
    finally:
        mngr.close()
    if restored is None:
        raise FileNotFoundError(f"--config.init_from={source}: no checkpoint there")
    return restored[0]


def _save_best(workdir: Path, config, state) -> None:
    """`<workdir>/best`: a workdir of its own (config.json and one checkpoint) that
    `sample.py`, `evaluate.py` and `train.py --init_from` read."""
    best = workdir / BEST
    mngr = checkpoint.manager(best, 1)
    try:
        step = int(jax.device_get(state.step))
        later = [s for s in mngr.all_steps() if s >= step]  # a resumed run replaying its steps
        for s in later if distributed.primary() else []:
            shutil.rmtree(Path(mngr.directory) / str(s))
        distributed.barrier("best_cleared")
        if later:
            mngr.reload()
        checkpoint.save(mngr, state)
    finally:
        mngr.close()
    if distributed.primary():
        write_atomic(best / "config.json", to_json(config))


def _check_finite(metrics: dict, step0: int, workdir: Path, last_saved) -> None:
    """Raises NonFiniteLoss at the first step where a loss (of any member) is not finite."""
    finite = np.all([np.isfinite(v) for v in metrics.values()], axis=0)  # (members, k)
    if finite.all():
        return
    first = int(np.argmin(finite.all(axis=0)))
    member = int(np.argmin(finite[:, first]))
    bad = [n for n, v in metrics.items() if not np.isfinite(v[member, first])]
    who = f" of member {member}" if finite.shape[0] > 1 else ""
    raise NonFiniteLoss(
        f"non-finite {', '.join(bad)}{who} at step {step0 + first + 1}; training stopped. "
        + (
            f"The last good checkpoint (step {last_saved}) is kept in {workdir / 'checkpoints'}"
            if last_saved is not None
            else "No checkpoint had been saved yet."
        )
    )


def train_and_evaluate(config, workdir: str | Path, progress: bool = True,
                       make_evaluator: Callable[..., Evaluator | None] | None = None
                       ) -> TrainState:
    """Trains `config` in `workdir`, resuming from its latest checkpoint; returns the last state.

    Every `config.eval_every` epochs, the evaluator `make_evaluator(config)` returns
    (`jaxgan.quality.evaluator`, as `bin/train.py` passes; None: no evaluation) scores
    `config.eval_samples` samples of each member's sampling G, drawn from the same latents each
    time; its rows join `metrics.jsonl` (marked `"eval"`), TensorBoard and `quality.png`, and
    with `config.keep_best` the best FD's checkpoint is kept in `<workdir>/best`.

    The workdir is held by this run alone (`jaxgan.lock`). SIGINT or SIGTERM stops the run at
    the end of the current dispatch, after a checkpoint, by raising Stopped.
    """
    workdir = Path(workdir)
    distributed.check_same(f"{to_json(config)}\n{workdir.resolve()}", "config or --workdir")
    validate(config)
    if config.keep_best and (make_evaluator is None or not config.eval_every):
        raise ValueError("keep_best=True needs the in-loop evaluation: eval_every > 0, with "
                         "bin/train.py (or an evaluator passed to train_and_evaluate)")
    if config.keep_best and not datasets.get(config.dataset).is_image:
        raise ValueError(f"keep_best=True keeps the best FD; {config.dataset} has mode metrics "
                         "and no FD")
    try:
        load_variant_config(config.variant)
    except ValueError as e:
        raise variants.UnknownVariant(str(e)) from None
    variants.build(config)  # so is a wrong prior, objective or network field
    if workdir.exists() and not workdir.is_dir():
        raise ValueError(f"--workdir={workdir} is a file, not a folder")
    check_workdir_config(config, workdir)
    dataset = datasets.get(config.dataset)
    images, labels = dataset.load(config.data_dir or None, "train")
    if config.batch_size > len(images):
        raise ValueError(f"--batch_size={config.batch_size} exceeds the {len(images)} images")
    trainer = Trainer(config, mesh_lib.for_config(config), len(images), dataset.data_dim)
    data = trainer.put_data(images, labels)
    evaluator = make_evaluator(config) if make_evaluator and config.eval_every else None
    # only now: a run that cannot start leaves no workdir behind
    workdir.mkdir(parents=True, exist_ok=True)
    held = lock.hold(workdir) if distributed.primary() else contextlib.nullcontext()
    with held, signals.StopRequest() as stop:
        return _train(trainer, data, workdir, progress, stop, evaluator)


def _save(mngr, state, log, last_saved) -> None:
    """The log up to `state`'s step on disk, then its checkpoint (so the log is complete up to
    every checkpoint, even after a kill -9); SaveError naming the last good checkpoint."""
    try:
        if distributed.primary():
            log.flush()
            os.fsync(log.fileno())
        checkpoint.save(mngr, state)
    except OSError as e:
        kept = (f"checkpoint {last_saved} is the last good one" if last_saved is not None
                else "no checkpoint had been saved yet")
        if isinstance(e, checkpoint.SaveError):
            why = str(e)
        else:
            why = f"could not write {log.name}: " + (
                "the disk is full" if checkpoint.is_disk_full(e) else str(e))
        raise checkpoint.SaveError(f"{why}; {kept} (run the same command to resume from "
                                   "it)") from None


def _train(trainer: Trainer, data, workdir: Path, progress: bool, stop: signals.StopRequest,
           evaluator: Evaluator | None):
    config, num_images = trainer.config, trainer.num_images
    mngr = checkpoint.manager(workdir, config.keep_checkpoints)
    state = trainer.init_state()
    try:
        restored = checkpoint.restore_latest(mngr, state)
    except checkpoint.CheckpointError:
        mngr.close()
        raise
    primary = distributed.primary()
    if restored is not None:
        state = jax.device_put(restored[0], trainer.state_sharding)
        if primary:
            checkpoint.set_aside_after(mngr, restored[1], workdir / "damaged_checkpoints")
        distributed.barrier("set_aside")
        mngr.reload()
    elif config.init_from:
        try:
            state = jax.device_put(_start_from(Path(config.init_from), config, state),
                                   trainer.state_sharding)
        except (checkpoint.CheckpointError, FileNotFoundError, ConfigMismatch):
            mngr.close()
            raise
    if primary:
        write_atomic(workdir / "config.json", to_json(config))  # once the run is sure to go on

    start, total = int(state.step), total_steps(config, num_images)
    grid_key = jax.random.fold_in(jax.random.PRNGKey(config.seed), 0x6A1D)
    eval_key = jax.random.fold_in(jax.random.PRNGKey(config.seed), 0xE7A1)
    if restored is None and config.init_from and start >= total:
        mngr.close()
        raise ValueError(f"--config.init_from={config.init_from} is at step {start}, and this run "
                         f"ends at step {total}: raise --epochs or --num_steps past it")
    progress = progress and primary
    if restored is None and config.init_from and progress:
        print(f"starting from {config.init_from} at step {start} of {total}", file=sys.stderr)
    if restored is not None and progress:
        print(f"resuming {workdir} at step {start} of {total}", file=sys.stderr)
        if start >= total:
            print(f"{workdir} is already at step {start}: nothing to train (raise --num_steps "
                  "or --epochs to continue)", file=sys.stderr)
    metrics_path = workdir / "metrics.jsonl"
    try:
        if primary:
            metrics_log.trim(metrics_path, start)
    except metrics_log.MetricsLogError:
        mngr.close()
        raise
    evaluating = evaluator is not None and config.eval_every > 0
    best_fd = _best_fd(workdir, metrics_log.read_rows(metrics_path), start) \
        if evaluating and primary else float("inf")
    best_fd = distributed.from_primary(best_fd)
    if config.keep_best and start < total and next_eval_step(config, num_images, start) > total:
        mngr.close()
        raise ValueError(f"keep_best=True, but this run ends at step {total}, before its first "
                         f"in-loop evaluation (step {next_eval_step(config, num_images, start)})")
    metrics_file = open(metrics_path if primary else os.devnull, "a")
    board = tensorboard.Board(workdir, trainer.members, start, config.tensorboard and primary)
    bar = tqdm(total=total, initial=start, disable=not progress, unit="step", dynamic_ncols=True)
    last_saved = mngr.latest_step()
    try:
        while int(state.step) < total:
            step0 = int(state.step)
            k = min(config.steps_per_call, total - step0)
            if evaluating:  # a dispatch ends at each evaluation's epoch, resumed or not
                k = min(k, next_eval_step(config, num_images, step0) - step0)
            state, metrics = trainer.run(state, data, k)
            metrics = {n: np.asarray(v).reshape(trainer.members, k)
                       for n, v in jax.device_get(metrics).items()}
            _check_finite(metrics, step0, workdir, last_saved)
            for i in range(k):
                if (step0 + i + 1) % config.log_every == 0 or step0 + i + 1 == total:
                    for m in range(trainer.members):
                        who = {"member": m} if trainer.members > 1 else {}
                        values = {n: float(v[m, i]) for n, v in metrics.items()}
                        row = {"step": step0 + i + 1, **who} | values
                        metrics_file.write(json.dumps(row) + "\n")
                        board.scalars(step0 + i + 1, values, m)
            step1 = step0 + k
            bar.update(k)
            bar.set_postfix(
                d_loss=f"{metrics['d_loss'][0, -1]:.3f}", g_loss=f"{metrics['g_loss'][0, -1]:.3f}"
            )
            epoch = epoch_of(config, num_images, step1)
            new_epoch = epoch > epoch_of(config, num_images, step0)
            if new_epoch or step1 == total:
                paths = _grids(trainer, state, grid_key, config.grid_samples, workdir,
                               f"epoch_{epoch:04d}_step_{step1:07d}.png")
                for m, path in enumerate(paths):
                    board.image(step1, "samples", path, m)
            if evaluating and step1 == next_eval_step(config, num_images, step0):
                scores = _scores(trainer, state, eval_key, evaluator)  # process 0's
                for m, values in enumerate(scores):
                    who = {"member": m} if trainer.members > 1 else {}
                    row = {"step": step1, "epoch": epoch, "eval": True, **who} | values
                    metrics_file.write(json.dumps(row) + "\n")
                    board.scalars(step1, values, m, "eval")
                fd = distributed.from_primary(
                    float(np.mean([s.get("frechet_distance", np.inf) for s in scores or [{}]])))
                if config.keep_best and fd < best_fd:
                    best_fd = fd
                    _save_best(workdir, config, state)
                    if progress:
                        bar.write(f"epoch {epoch}: in-loop FD {fd:.2f}, the best so far; its "
                                  f"checkpoint is in {workdir / BEST}")
            due = step1 // config.checkpoint_every > step0 // config.checkpoint_every
            stopping = distributed.any_process(stop.signum is not None)
            if due or step1 == total or stopping:
                board.flush()
                _save(mngr, state, metrics_file, last_saved)
                last_saved = step1
            if stopping and step1 < total:
                raise signals.Stopped(f"stopped at step {step1}; checkpoint {step1} saved; run "
                                      "the same command to resume",
                                      stop.signum or signal.SIGTERM)  # another process's stop
    finally:
        bar.close()
        with contextlib.suppress(OSError):  # a full disk: the error that stopped the run matters
            metrics_file.close()
        with contextlib.suppress(OSError):
            board.close()
        mngr.close()
        # also when the run stops early (non-finite loss, a signal): the curves show why
        with contextlib.suppress(OSError, metrics_log.MetricsLogError):
            if primary and metrics_path.stat().st_size:
                viz.plot_losses(metrics_path, workdir / "losses.png")
                viz.plot_quality(metrics_path, workdir / "quality.png")
    return state
