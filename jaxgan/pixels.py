"""The one pixel and shape convention. MNIST digits are uint8 28×28 on disk, in PNGs and for the
classifier; the networks read and write them flat (784) in [-1, 1], the template's
Normalize(0.5, 0.5). Every conversion between the two goes through here."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

IMAGE_SHAPE = (28, 28)  # a digit, (height, width)
IMAGE_DIM = IMAGE_SHAPE[0] * IMAGE_SHAPE[1]  # a flat digit, as G writes it and D reads it


def to_unit(images_u8):
    """uint8 images (any shape) -> float32 in [-1, 1], in jnp: `u / 127.5 − 1`."""
    return images_u8.astype(jnp.float32) / 127.5 - 1.0


def to_inputs(x):
    """The networks' inputs: uint8 images to [-1, 1]; float data (the 2-D toys) as it is."""
    return to_unit(x) if x.dtype == jnp.uint8 else x.astype(jnp.float32)


def to_byte_scale(x):
    """Flat [-1, 1] outputs -> (B, 28, 28) floats on the uint8 scale [0, 255], unrounded, so that
    a network trained on uint8 digits can read G's outputs differentiably."""
    return (x.reshape(-1, *IMAGE_SHAPE) + 1.0) * 127.5


def to_uint8(x, pixel_map: str = "half") -> np.ndarray:
    """[-1, 1] outputs -> uint8, same shape: "half" maps (x+1)/2, "clamp" clips x to [0, 1];
    rounded as torchvision's `save_image` does, floor(255·v + 0.5)."""
    x = np.asarray(x, np.float32)
    if pixel_map == "half":
        v = (x + 1.0) / 2.0
    elif pixel_map == "clamp":
        v = x
    else:
        raise ValueError(f"unknown pixel_map {pixel_map!r}; valid: half, clamp")
    return np.floor(np.clip(v, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def digits(x, pixel_map: str = "half") -> np.ndarray:
    """Flat [-1, 1] outputs (n, 784) -> uint8 digits (n, 28, 28)."""
    return to_uint8(x, pixel_map).reshape(-1, *IMAGE_SHAPE)
