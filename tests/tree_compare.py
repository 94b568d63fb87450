"""What the multi-device and multi-process checks share: comparing two train states, and a saved
run's state restored onto one device. No side effects at import (the check scripts set the device
count before jax loads; the test process must not)."""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np

from jaxgan import checkpoint
from jaxgan.mesh import make_mesh
from jaxgan.train import Trainer


def compare(a, b, tol: float) -> tuple[float, float, bool, str]:
    """(max |a - b| over the parameters, fraction of float elements off by more than
    `tol`·max(1, |a|), whether the integer leaves are equal, path of the worst parameter).

    Relative beyond magnitude 1: Adam's second moments (squared gradients, up to ~1e3 under a
    gradient penalty) carry float32 error in proportion to their size."""
    worst, where, off, total, ints_equal = 0.0, "", 0, 0, True
    for (path, x), y in zip(jax.tree_util.tree_leaves_with_path(a), jax.tree.leaves(b),
                            strict=True):
        x, y = np.asarray(x), np.asarray(y)
        if not np.issubdtype(x.dtype, np.floating):
            ints_equal &= bool(np.array_equal(x, y))
            continue
        d = np.abs(x.astype(np.float64) - y.astype(np.float64))
        off += int(np.sum(d > tol * np.maximum(1.0, np.abs(x))))
        total += d.size
        if d.size and jax.tree_util.keystr(path).startswith(".params") and float(d.max()) > worst:
            worst, where = float(d.max()), jax.tree_util.keystr(path)
    return worst, off / max(total, 1), ints_equal, where


def restored(workdir: Path, config, num_images: int = 2000):
    """The newest checkpoint of `workdir` (a run of `config`), restored onto one device, on the
    host."""
    trainer = Trainer(config, make_mesh(jax.devices()[:1]), num_images)
    mngr = checkpoint.manager(workdir, 3)
    try:
        state, _ = checkpoint.restore_latest(mngr, trainer.init_state())
    finally:
        mngr.close()
    return jax.device_get(state)
