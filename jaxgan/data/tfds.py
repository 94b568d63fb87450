"""Optional loader for other TFDS image datasets (Fashion-MNIST, KMNIST, CIFAR-10, ...).

`tensorflow_datasets` is imported only when `load_tfds` is called, so the rest of jaxgan never
needs it; without it the call raises `TfdsMissingError` naming the extra to install. The output
matches `load_mnist`: a whole split as numpy arrays, uint8 images and integer labels.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

INSTALL_HINT = 'pip install -e ".[tfds]"'


class TfdsMissingError(ImportError):
    """`tensorflow_datasets` is not installed; the message says how to install it."""


def _import_tfds() -> Any:
    try:
        import tensorflow_datasets as tfds
    except ImportError as e:
        raise TfdsMissingError(
            f"loading a TFDS dataset needs tensorflow-datasets, which is not installed ({e}). "
            f"Install it with: {INSTALL_HINT}   (MNIST itself needs no TFDS: use load_mnist)"
        ) from e
    return tfds


def load_tfds(
    name: str, split: str = "train", data_dir: str | os.PathLike | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The whole `split` of TFDS image dataset `name`: uint8 (N, H, W[, C]) images and labels.

    A single channel is squeezed, so grey datasets come out (N, H, W) like `load_mnist`.
    `data_dir` is TFDS's own data directory (its default when None); TFDS downloads what is missing.
    """
    tfds = _import_tfds()
    data = tfds.as_numpy(
        tfds.load(
            name,
            split=split,
            data_dir=None if data_dir is None else os.fspath(data_dir),
            batch_size=-1,
            as_supervised=True,
        )
    )
    images, labels = (np.asarray(a) for a in data)
    if images.ndim not in (3, 4) or images.dtype != np.uint8:
        raise ValueError(
            f"TFDS dataset {name!r} is not a uint8 image dataset: images {images.dtype} "
            f"{images.shape}"
        )
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    return images, labels
