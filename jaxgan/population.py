"""Populations: `num_seeds` independent GANs of one config trained as one state.

Every leaf of a population's `TrainState` but `step` has a leading member axis (the members
train in lockstep, so they share the step), and the train step is `vmap`ped over it. Member i is
the run of seed `seed + i`; it reads the data in its own seed's order, or in member 0's with
`same_data_order`.
"""

from __future__ import annotations

import jax

from jaxgan.state import TrainState

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
