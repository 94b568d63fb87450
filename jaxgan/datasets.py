"""The training sets by name (`config.dataset`): MNIST, and the 2-D toys for mode coverage.

A dataset loads `(samples, labels)` of a split, says its sample width, the networks that suit it
(the toys' G and D have the MNIST networks' depth at width 128, and G's tanh is scaled to cover
the modes), and how to draw a preview of generated samples.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np

from jaxgan import viz
from jaxgan.data import toy2d
from jaxgan.data.mnist import load_mnist
from jaxgan.pixels import IMAGE_DIM, to_uint8

TOY_TRAIN, TOY_TEST = 50_000, 10_000


class Dataset(NamedTuple):
    load: Callable[[str | None, str], tuple[np.ndarray, np.ndarray]]  # (data_dir, split)
    data_dim: int
    nets: dict  # `config.nets` fields that suit this data
    preview: Callable[[np.ndarray, Path], None]  # (samples (n, D) in [-1, 1]·scale, path)
    is_image: bool


def _mnist(data_dir, split):
    return load_mnist(data_dir or None, split)


def _mnist_preview(samples, path):
    viz.save_grid(to_uint8(samples), path)


def _toy(name: str, scale: float) -> Dataset:
    def load(data_dir, split):
        del data_dir
        return toy2d.load_toy2d(name, TOY_TRAIN if split == "train" else TOY_TEST,
                                seed=0 if split == "train" else 1)

    def preview(samples, path):
        viz.scatter_modes(samples, toy2d.centres(name), path, title=name)

    nets = {"g_hidden": (128, 128, 128), "d_hidden": (128, 128, 128), "g_out_scale": scale}
    return Dataset(load, 2, nets, preview, False)


DATASETS = {
    "mnist": Dataset(_mnist, IMAGE_DIM, {}, _mnist_preview, True),
    "ring8": _toy("ring8", 3.0),
    "grid25": _toy("grid25", 5.0),
}


def get(name: str) -> Dataset:
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; valid: {', '.join(DATASETS)}")
    return DATASETS[name]


def use(config, name: str, explicit=()) -> None:
    """Sets `config.dataset` and the networks that suit it, except the `nets.*` fields in
    `explicit` (dotted names given on the command line)."""
    config.dataset = name
    for field, value in get(name).nets.items():
        if f"nets.{field}" not in explicit:
            config.nets[field] = value
