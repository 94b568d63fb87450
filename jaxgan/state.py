"""The training state: one PyTree holding everything a run needs to continue bit-identically."""

from __future__ import annotations

import flax.struct
import jax
import optax

# params key of G's exponential moving average: present only when config.ema_decay > 0, so a run
# without one has the state (and the checkpoints) it had before the EMA existed
EMA = "g_ema"


@flax.struct.dataclass
class TrainState:
    step: jax.Array  # G updates done
    params: dict  # network name ("g", "d", "prior", "enc") -> its parameters; EMA: G's average
    opt_state: dict  # trained network name -> its optimiser state
    key: jax.Array  # base key: per-step keys are fold_in(key, step)
    data_key: jax.Array  # per-epoch permutations are permutation(fold_in(data_key, epoch))
    perm: jax.Array  # the current epoch's order of the training images


def ema_decay(config) -> float:
    """The config's EMA decay d (0: no EMA; configs written before the field count as 0)."""
    return float(config.get("ema_decay", 0.0))


def ema_update(ema, g, decay: float):
    """ema ← d·ema + (1 − d)·g, leaf by leaf: optax's `incremental_update` with step 1 − d."""
    return optax.incremental_update(g, ema, 1.0 - decay)


def for_sampling(state: TrainState, raw_g: bool = False) -> TrainState:
    """`state` with the G that sampling uses as `params["g"]`: G's EMA where the run keeps one
    (unless `raw_g`), else G itself. The EMA entry is dropped, so no later reader can pick the
    other G by mistake."""
    params = dict(state.params)
    ema = params.pop(EMA, None)
    if ema is not None and not raw_g:
        params["g"] = ema
    return state.replace(params=params)


def g_name(config, raw_g: bool = False) -> str | None:
    """Which G `for_sampling` picks, for the tools' output: "EMA G (decay d)", "raw G" (a run
    with an EMA sampled with `raw_g`), or None for a run without an EMA (it has one G)."""
    decay = ema_decay(config)
    if not decay:
        return None
    return "raw G" if raw_g else f"EMA G (decay {decay:g})"
