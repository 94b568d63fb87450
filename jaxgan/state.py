"""The training state: one PyTree holding everything a run needs to continue bit-identically."""

from __future__ import annotations

import flax.struct
import jax


@flax.struct.dataclass
class TrainState:
    step: jax.Array  # G updates done
    params: dict  # network name ("g", "d", "prior", "enc") -> its parameters
    opt_state: dict  # trained network name -> its optimiser state
    key: jax.Array  # base key: per-step keys are fold_in(key, step)
    data_key: jax.Array  # per-epoch permutations are permutation(fold_in(data_key, epoch))
    perm: jax.Array  # the current epoch's order of the training images
