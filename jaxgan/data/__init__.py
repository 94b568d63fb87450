"""Datasets as numpy arrays: MNIST from its IDX files, the 2-D toy mixtures, optional TFDS."""

from jaxgan.data.mnist import MnistError, load_mnist, resolve_data_dir
from jaxgan.data.tfds import TfdsMissingError, load_tfds
from jaxgan.data.toy2d import TOY2D_NAMES, load_toy2d, mode_metrics

__all__ = [
    "TOY2D_NAMES",
    "MnistError",
    "TfdsMissingError",
    "load_mnist",
    "load_tfds",
    "load_toy2d",
    "mode_metrics",
    "resolve_data_dir",
]
