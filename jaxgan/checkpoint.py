"""Orbax checkpoints of the whole train state in `<workdir>/checkpoints`: save, restore latest."""

from __future__ import annotations

from pathlib import Path

import jax
import orbax.checkpoint as ocp


def manager(workdir: str | Path, keep: int = 3) -> ocp.CheckpointManager:
    directory = Path(workdir).resolve() / "checkpoints"
    options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=True)
    return ocp.CheckpointManager(directory, options=options)


def save(mngr: ocp.CheckpointManager, state) -> None:
    """Saves `state` at its step (atomically; waits so a crash right after cannot lose it)."""
    mngr.save(int(jax.device_get(state.step)), args=ocp.args.StandardSave(state), force=True)
    mngr.wait_until_finished()


def restore_latest(mngr: ocp.CheckpointManager, target):
    """The latest saved state shaped (and sharded) like `target`, or None when there is none."""
    step = mngr.latest_step()
    if step is None:
        return None
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, target)
    return mngr.restore(step, args=ocp.args.StandardRestore(abstract))
