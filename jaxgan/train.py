"""`train_and_evaluate(config, workdir)`: mesh, data on device, jitted loop, checkpoints, logs."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P
from tqdm import tqdm

from jaxgan import checkpoint, variants, viz
from jaxgan.config import from_json, mismatches, to_json, validate
from jaxgan.data.mnist import load_mnist
from jaxgan.state import TrainState
from jaxgan.step import Optimizers, make_multi_step, make_step


class NonFiniteLoss(FloatingPointError):
    pass


class ConfigMismatch(ValueError):
    pass


# ---------------------------------------------------------------- setup


def make_mesh(devices=None) -> Mesh:
    return Mesh(np.asarray(devices or jax.devices()), ("data",))


def optimizers(config, num_images: int) -> Optimizers:
    """Adam for G, D and the prior's parameters (the prior with G's learning rate and betas).

    With `lr_halve_epoch` = E > 0 every rate halves once the first E data epochs are done (the
    teams' WGAN-GP recipe): D's from its update on epoch E + 1's first batch, G's and the prior's
    from the first G step after the one that completes epoch E.
    """

    def adam(lr, halve_at_update):
        if halve_at_update:
            lr = optax.piecewise_constant_schedule(lr, {halve_at_update: 0.5})
        return optax.adam(lr, b1=config.b1, b2=config.b2, eps=1e-8)

    d_halve = config.lr_halve_epoch * (num_images // config.batch_size)
    g_halve = -(-d_halve // config.n_critic)
    return Optimizers(
        g=adam(config.lr_g, g_halve), d=adam(config.lr_d, d_halve), prior=adam(config.lr_g, g_halve)
    )


def create_state(config, components, opt: Optimizers, num_images: int) -> TrainState:
    """A fresh state from `config.seed`: both nets, the prior's params, their Adam states, keys."""
    root = jax.random.PRNGKey(config.seed)
    k_g, k_d, k_prior, k_step, k_data = jax.random.split(root, 5)
    g_params = components.generator.init(k_g, jnp.zeros((1, components.prior.latent_dim)))
    d_params = components.discriminator.init(k_d, jnp.zeros((1, 784)))
    prior_params = components.prior.init(k_prior)
    return TrainState(
        step=jnp.zeros((), jnp.int32),
        g_params=g_params,
        d_params=d_params,
        prior_params=prior_params,
        g_opt_state=opt.g.init(g_params),
        d_opt_state=opt.d.init(d_params),
        prior_opt_state=opt.prior.init(prior_params),
        key=k_step,
        data_key=k_data,
        perm=jnp.zeros((num_images,), jnp.int32),
    )


def epoch_of(config, num_images: int, step: int) -> int:
    """Data epochs completed after `step` G steps (`n_critic` full batches each; the last partial
    batch of an epoch is dropped)."""
    return step * config.n_critic // (num_images // config.batch_size)


def total_steps(config, num_images: int) -> int:
    """`num_steps`, else the G steps that complete `epochs` data epochs (rounded up)."""
    batches = int(config.epochs) * (num_images // config.batch_size)
    return int(config.num_steps) or -(-batches // config.n_critic)


def has_checkpoint(workdir: Path) -> bool:
    """Whether `workdir/checkpoints` holds a saved step (Orbax names them by step number)."""
    ckpt = workdir / "checkpoints"
    return ckpt.is_dir() and any(p.name.isdigit() for p in ckpt.iterdir())


def trim_metrics(path: Path, last_step: int) -> None:
    """Drops the rows of `metrics.jsonl` past `last_step`: steps a resumed run will redo."""
    if not path.is_file():
        return
    rows = [r for r in path.read_text().splitlines() if r.strip()]
    kept = [r for r in rows if json.loads(r).get("step", 0) <= last_step]
    if len(kept) != len(rows):
        path.write_text("".join(r + "\n" for r in kept))


def check_workdir_config(config, workdir: Path) -> None:
    """Refuses to resume a workdir whose saved config differs in a model-defining field."""
    saved_path = workdir / "config.json"
    if not has_checkpoint(workdir):
        return
    if not saved_path.is_file():
        raise ConfigMismatch(
            f"{workdir} holds checkpoints but no config.json to check them against; put the run's "
            "config.json back or use another --workdir"
        )
    saved = json.loads(saved_path.read_text())
    diff = mismatches(saved, config.to_dict())
    if diff:
        details = ", ".join(
            f"{k}: saved {saved.get(k)!r}, now {config.to_dict().get(k)!r}" for k in diff
        )
        raise ConfigMismatch(
            f"{workdir} holds a checkpoint of a different config ({details}); "
            "use another --workdir or the same settings"
        )


class Trainer:
    """Everything compiled for one config: `run(state, k) -> (state, metrics)` with k steps."""

    def __init__(self, config, mesh: Mesh, num_images: int):
        self.config, self.mesh = config, mesh
        n_dev = mesh.devices.size
        if config.batch_size % n_dev:
            raise ValueError(
                f"--batch_size={config.batch_size} must be a multiple of the {n_dev} devices"
            )
        self.components = variants.build(config)
        self.opt = optimizers(config, num_images)
        self.step = make_step(self.components, self.opt, config.batch_size, config.n_critic, mesh)
        self.replicated = NamedSharding(mesh, P())
        self.num_images = num_images
        self._compiled = {}

    def init_state(self) -> TrainState:
        state = create_state(self.config, self.components, self.opt, self.num_images)
        return jax.device_put(state, self.replicated)

    def put_data(self, images_u8: np.ndarray):
        return jax.device_put(images_u8.reshape(len(images_u8), -1), self.replicated)

    def run(self, state, data, num_steps: int):
        if num_steps not in self._compiled:
            self._compiled[num_steps] = jax.jit(
                make_multi_step(self.step, num_steps),
                donate_argnums=0,
                out_shardings=(self.replicated, self.replicated),
            )
        return self._compiled[num_steps](state, data)

    def generate(self, state, z):
        return self.components.generator.apply(state.g_params, z)


# ---------------------------------------------------------------- the loop


def _grid(trainer: Trainer, state, key, n: int, path: Path) -> None:
    z, _ = trainer.components.prior.sample(state.prior_params, key, n)
    viz.save_grid(viz.to_uint8(jax.device_get(trainer.generate(state, z))), path)


def train_and_evaluate(config, workdir: str | Path, progress: bool = True) -> TrainState:
    """Trains `config` in `workdir`, resuming from its latest checkpoint; returns the last state."""
    workdir = Path(workdir)
    validate(config)
    variants.build(config)  # fail early on an unknown variant or loss
    if workdir.exists() and not workdir.is_dir():
        raise ValueError(f"--workdir={workdir} is a file, not a folder")
    check_workdir_config(config, workdir)
    images, _ = load_mnist(config.data_dir or None, "train")
    if config.batch_size > len(images):
        raise ValueError(f"--batch_size={config.batch_size} exceeds the {len(images)} images")
    trainer = Trainer(config, make_mesh(), len(images))
    data = trainer.put_data(images)
    # only now: a run that cannot start leaves no workdir behind
    workdir.mkdir(parents=True, exist_ok=True)
    mngr = checkpoint.manager(workdir, config.keep_checkpoints)
    state = trainer.init_state()
    try:
        restored = checkpoint.restore_latest(mngr, state)
    except checkpoint.CheckpointError:
        mngr.close()
        raise
    if restored is not None:
        state = jax.device_put(restored[0], trainer.replicated)
        checkpoint.set_aside_after(mngr, restored[1], workdir / "damaged_checkpoints")
    (workdir / "config.json").write_text(to_json(config))  # once the run is sure to go on

    start, total = int(state.step), total_steps(config, len(images))
    grid_key = jax.random.fold_in(jax.random.PRNGKey(config.seed), 0x6A1D)
    metrics_file = open(workdir / "metrics.jsonl", "a")
    if restored is not None and progress:
        print(f"resuming {workdir} at step {start} of {total}", file=sys.stderr)
        if start >= total:
            print(f"{workdir} is already at step {start}: nothing to train (raise --num_steps "
                  "or --epochs to continue)", file=sys.stderr)
    trim_metrics(workdir / "metrics.jsonl", start)
    bar = tqdm(total=total, initial=start, disable=not progress, unit="step", dynamic_ncols=True)
    last_saved = mngr.latest_step()
    try:
        while int(state.step) < total:
            step0 = int(state.step)
            k = min(config.steps_per_call, total - step0)
            state, metrics = trainer.run(state, data, k)
            metrics = jax.device_get(metrics)
            finite = np.all([np.isfinite(v) for v in metrics.values()], axis=0)
            if not finite.all():
                first = int(np.argmin(finite))
                bad = [n for n, v in metrics.items() if not np.isfinite(v[first])]
                raise NonFiniteLoss(
                    f"non-finite {', '.join(bad)} at step {step0 + first + 1}; training stopped. "
                    + (
                        f"The last good checkpoint (step {last_saved}) is kept in "
                        f"{workdir / 'checkpoints'}"
                        if last_saved is not None
                        else "No checkpoint had been saved yet."
                    )
                )
            for i in range(k):
                if (step0 + i + 1) % config.log_every == 0 or step0 + i + 1 == total:
                    row = {"step": step0 + i + 1} | {n: float(v[i]) for n, v in metrics.items()}
                    metrics_file.write(json.dumps(row) + "\n")
            step1 = step0 + k
            bar.update(k)
            bar.set_postfix(
                d_loss=f"{metrics['d_loss'][-1]:.3f}", g_loss=f"{metrics['g_loss'][-1]:.3f}"
            )
            epoch = epoch_of(config, len(images), step1)
            if epoch > epoch_of(config, len(images), step0) or step1 == total:
                _grid(
                    trainer,
                    state,
                    grid_key,
                    config.grid_samples,
                    workdir / "grids" / f"epoch_{epoch:04d}_step_{step1:07d}.png",
                )
            if (
                step1 // config.checkpoint_every > step0 // config.checkpoint_every
                or step1 == total
            ):
                # the log is complete up to every checkpoint, even after a kill -9
                metrics_file.flush()
                os.fsync(metrics_file.fileno())
                checkpoint.save(mngr, state)
                last_saved = step1
    finally:
        bar.close()
        metrics_file.close()
        mngr.close()
        # also when the run stops early (non-finite loss, Ctrl-C): the curves show why
        if (workdir / "metrics.jsonl").stat().st_size:
            viz.plot_losses(workdir / "metrics.jsonl", workdir / "losses.png")
    return state


def load_config(workdir: str | Path):
    path = Path(workdir) / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found; is --workdir a training run's directory?")
    return from_json(path.read_text())
