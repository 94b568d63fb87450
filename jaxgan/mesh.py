"""The device mesh of a run: a `members` axis for a population's GANs and a `data` axis for each
GAN's batch.

A population's state is sharded along `members` (each device holds and updates only its own
members, with no communication between them) and every batch along `data`; a single run has one
member, so all its devices are on `data`. `config.mesh.members` and `config.mesh.data` (0: chosen)
pick the shape; they steer where the run computes, not what, so a run may resume on another mesh.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from jaxgan import population
from jaxgan.state import TrainState

AXES = ("members", "data")


def make_mesh(devices=None, members: int = 1) -> Mesh:
    """`devices` (default: all) as a `members` × `data` mesh with `members` rows."""
    devices = np.asarray(devices if devices is not None else jax.devices())
    return Mesh(devices.reshape(members, devices.size // members), AXES)


def shape(config, num_devices: int) -> tuple[int, int]:
    """(members, data) of `config.mesh` on `num_devices` devices; a field at 0 is chosen: as many
    devices on `members` as divide the population (`num_seeds`), the rest on `data`. Both fields
    set may use fewer devices than there are (the first members × data).

    Raises ValueError, in one line saying what would fit, for a shape that does not."""
    seeds = population.size(config)
    fields = config.get("mesh", {})
    members, data = int(fields.get("members", 0)), int(fields.get("data", 0))
    asked = " x ".join(f"mesh.{k}={v or 'chosen'}" for k, v in (("members", members),
                                                                ("data", data)))
    if members < 0 or data < 0:
        raise ValueError(f"mesh.members={members}, mesh.data={data}: must be >= 0 (0: chosen)")
    if not members:
        members = num_devices // data if data else math.gcd(seeds, num_devices)
    if not data:
        data = num_devices // members
    fits = [f"{m}x{num_devices // m}" for m in range(1, num_devices + 1)
            if num_devices % m == 0 and seeds % m == 0]
    if not members or not data or members * data > num_devices or seeds % members or (
            members * data < num_devices and not (fields.get("members") and fields.get("data"))):
        raise ValueError(
            f"{asked} does not fit {num_devices} device(s) and a population of {seeds}: members "
            "must divide num_seeds, and members x data use every device (or fewer, with both "
            f"set); fits here: {', '.join(fits)}")
    if config.batch_size % data:
        raise ValueError(f"--batch_size={config.batch_size} must be a multiple of the {data} "
                         f"devices on the mesh's data axis")
    return members, data


def for_config(config, devices=None) -> Mesh:
    """The mesh `config.mesh` asks for on `devices` (default: all)."""
    devices = np.asarray(devices if devices is not None else jax.devices())
    members, data = shape(config, devices.size)
    return make_mesh(devices[: members * data], members)


def state_sharding(mesh: Mesh, population_size: int) -> NamedSharding | TrainState:
    """Where a train state lives (a prefix of its tree): a population's member axis split over
    `members`, its shared step on every device (`population.AXES`); a single run on every device."""
    replicated = NamedSharding(mesh, P())
    if population_size == 1:
        return replicated
    split = NamedSharding(mesh, P("members"))
    return TrainState(**{f.name: replicated if getattr(population.AXES, f.name) is None else split
                         for f in dataclasses.fields(TrainState)})

