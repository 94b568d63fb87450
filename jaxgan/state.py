"""The training state: one PyTree holding everything a run needs to continue bit-identically."""

from __future__ import annotations

from typing import Any

import flax.struct
import jax


@flax.struct.dataclass
class TrainState:
    step: jax.Array  # G updates done
    g_params: Any
    d_params: Any
    prior_params: Any
    g_opt_state: Any
    d_opt_state: Any
    prior_opt_state: Any  # trained with G's loss; empty work for a fixed prior's empty params
    key: jax.Array  # base key: per-step keys are fold_in(key, step)
    data_key: jax.Array  # per-epoch permutations are permutation(fold_in(data_key, epoch))
    perm: jax.Array  # the current epoch's order of the training images
