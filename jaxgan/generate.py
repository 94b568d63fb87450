"""Draws images from a training run's latest checkpoint (for `bin/sample.py` and the evaluator)."""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np

from jaxgan import checkpoint, viz
from jaxgan.train import Trainer, has_checkpoint, load_config, make_mesh


def load_run(workdir: str | Path):
    """(trainer, state) of the newest intact checkpoint in `workdir`, built from its
    `config.json`; the training set's size is read from the checkpoint (the data order's length)."""
    workdir = Path(workdir)
    config = load_config(workdir)
    if not has_checkpoint(workdir):
        raise FileNotFoundError(f"{workdir / 'checkpoints'}: no checkpoint to sample from")
    mngr = checkpoint.manager(workdir, config.keep_checkpoints, create=False)
    try:
        (num_images,) = checkpoint.saved_shape(mngr, "perm")
        trainer = Trainer(config, make_mesh(), num_images=num_images)
        state, _ = checkpoint.restore_latest(mngr, trainer.init_state())
    finally:
        mngr.close()
    return trainer, state


def generate_images(
    workdir: str | Path,
    num_samples: int,
    seed: int = 0,
    pixel_map: str = "half",
    batch_size: int = 1000,
) -> np.ndarray:
    """uint8 (num_samples, 28, 28) images from the latest checkpoint; same seed, same images."""
    trainer, state = load_run(workdir)
    sample = trainer.model.prior.sample
    apply = jax.jit(trainer.model.nets["g"].apply)
    key = jax.random.PRNGKey(seed)
    out = []
    for i, start in enumerate(range(0, num_samples, batch_size)):
        z, _ = sample(state.params["prior"], jax.random.fold_in(key, i), batch_size)
        x = jax.device_get(apply(state.params["g"], z))[: num_samples - start]
        out.append(viz.to_uint8(x, pixel_map).reshape(-1, 28, 28))
    return np.concatenate(out) if out else np.zeros((0, 28, 28), np.uint8)
