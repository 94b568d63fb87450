"""Frozen networks an objective may read (perceptual loss, feature matching): loaded once by the
trainer and passed to the jitted step as an argument, never trained or checkpointed."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxgan import classifier
from jaxgan.pixels import IMAGE_DIM, to_byte_scale


class Frozen(NamedTuple):
    load: Callable[[], dict]  # -> params
    features: Callable  # (params, x (B, D) in the networks' range [-1, 1]) -> (B, F)
    data_dim: int  # the data it reads


def classifier_outputs(params, x):
    """The project's MNIST CNN on G's outputs x (B, 784) in [-1, 1]: (logits (B, 10), 128-d
    penultimate features), differentiable in x."""
    return classifier.MnistCNN().apply({"params": params}, to_byte_scale(x))


def _classifier_features(params, x):
    return classifier_outputs(params, x)[1]


FROZEN = {"classifier": Frozen(classifier.load_params, _classifier_features, IMAGE_DIM)}


def load(names, data_dim: int) -> dict | None:
    """`{name: params}` of the frozen networks `names` (None for none); one line if one cannot
    read this data."""
    for name in names:
        if FROZEN[name].data_dim != data_dim:
            raise ValueError(
                f"this objective reads the frozen {name} network, which takes "
                f"{FROZEN[name].data_dim}-d samples, not this dataset's {data_dim}-d ones"
            )
    return {name: jax.device_put(FROZEN[name].load()) for name in names} or None


def features(name: str, params, x) -> jax.Array:
    return jnp.asarray(FROZEN[name].features(params, x))
