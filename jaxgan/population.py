"""Populations: `num_seeds` independent GANs of one config trained as one state.

Every leaf of a population's `TrainState` but `step` has a leading member axis (the members
train in lockstep, so they share the step), and the train step is `vmap`ped over it. Member i is
the run of seed `seed + i`; it reads the data in its own seed's order, or in member 0's with
`same_data_order`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp

from jaxgan.state import EMA, TrainState, ema_decay

if TYPE_CHECKING:
    from jaxgan.variants import Model

# vmap axes of a population state: every field but the shared step is stacked
AXES = TrainState(step=None, params=0, opt_state=0, key=0, data_key=0, perm=0)


def size(config) -> int:
    """The number of GANs a config trains (1: a plain run, whose state has no member axis)."""
    return int(config.get("num_seeds", 1))


def member_config(config, member: int):
    """The config of a single run equal to population member `member`."""
    one = config.copy_and_resolve_references()
    one.seed, one.num_seeds = int(config.seed) + member, 1
    return one


def select(state: TrainState, member: int) -> TrainState:
    """Member `member` of a population state, as a single run's state."""
    return jax.tree.map(lambda x: x[member], state.replace(step=None)).replace(step=state.step)


class MemberError(ValueError):
    """A member that is not in the run (or none chosen of a population)."""


def check_member(config, member: int | None) -> None:
    """Refuses a member that is not in the run: MemberError naming the valid ones."""
    n = size(config)
    if member is None and n > 1:
        raise MemberError(f"this run is a population of {n} GANs: choose one with "
                          f"--member=0..{n - 1}")
    if member is not None and n == 1 and member != 0:
        raise MemberError(f"--member={member}: this run is a single GAN, not a population")
    if member is not None and not 0 <= member < n:
        raise MemberError(f"--member={member}: the population's members are 0..{n - 1}")


def _state_of(seed, data_seed, model: Model, opt: dict, num_images: int,
              ema: bool = False) -> TrainState:
    root = jax.random.PRNGKey(seed)
    _, _, _, k_step, _ = jax.random.split(root, 5)
    params = model.init(root)
    if ema:  # a buffer of its own: the train step donates the state
        params[EMA] = jax.tree.map(jnp.copy, params["g"])
    return TrainState(
        step=jnp.zeros((), jnp.int32),
        params=params,
        opt_state={name: opt[name].init(params[name]) for name in model.trained},
        key=k_step,
        data_key=jax.random.split(jax.random.PRNGKey(data_seed), 5)[4],
        perm=jnp.zeros((num_images,), jnp.int32),
    )


def create_state(config, model: Model, opt: dict, num_images: int) -> TrainState:
    """A fresh state from `config.seed`: every network, the prior's params, their optimiser
    states, and the step and data-order keys; for a population, member i's is seed + i's.
    With `ema_decay` > 0, G's moving average starts as G (`params[EMA]`)."""
    n, ema = size(config), ema_decay(config) > 0
    if n == 1:
        return _state_of(config.seed, config.seed, model, opt, num_images, ema)
    seeds = config.seed + jnp.arange(n)
    data_seeds = jnp.full((n,), config.seed) if config.same_data_order else seeds
    # one program: run op by op, the vmapped init compiles each batched op on its own (2x slower)
    make = jax.jit(jax.vmap(lambda s, ds: _state_of(s, ds, model, opt, num_images, ema),
                            out_axes=AXES))
    return make(seeds, data_seeds)
