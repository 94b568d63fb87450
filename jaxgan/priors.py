"""Latent priors as pure `init(key) -> params` / `sample(params, key, n) -> (z, aux)` pairs.

`params` is a PyTree (empty for fixed priors, trainable for learned ones) carried in the state;
`aux` holds side information a prior produces with z (e.g. a mixture component), empty here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax


class Prior(NamedTuple):
    init: Callable[[jax.Array], Any]
    sample: Callable[[Any, jax.Array, int], tuple[jax.Array, dict]]
    latent_dim: int


def gaussian(latent_dim: int, std: float = 1.0) -> Prior:
    """z ~ N(0, std² I) in `latent_dim` dimensions (the course prior: std 1, d = 100)."""

    def init(key):
        del key
        return {}

    def sample(params, key, n):
        del params
        return std * jax.random.normal(key, (n, latent_dim)), {}

    return Prior(init, sample, latent_dim)
