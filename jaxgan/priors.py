"""Latent priors as pure functions over a PyTree of parameters.

A prior is `init(key) -> params`, `sample(params, key, n, labels=None) -> (z, aux)` and
`log_prob(params, z) -> (n,)`. `params` lives in the train state (empty for fixed priors; learned
with G's loss when `trainable`). `aux` carries what the losses need besides z: `"label"`, the
component or one-hot class that drew each z, and for ClusterGAN `"noise"`, the continuous part.
Priors with `num_classes > 0` can be asked for given `labels` (`bin/sample.py --class=k`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxgan import registry

LOG_2PI = math.log(2.0 * math.pi)


class Prior(NamedTuple):
    init: Callable[[jax.Array], Any]
    sample: Callable[..., tuple[jax.Array, dict]]
    log_prob: Callable[[Any, jax.Array], jax.Array]
    latent_dim: int
    num_classes: int = 0  # labelled components (0: none)
    trainable: bool = False  # params learned with G's loss
    code_dims: int = 0  # trailing coordinates of z that are a one-hot code, not noise


def _normal_log_prob(x, mean, std):
    """Σ over the last axis of log N(x; mean, std²)."""
    return jnp.sum(-0.5 * ((x - mean) / std) ** 2 - jnp.log(std) - 0.5 * LOG_2PI, axis=-1)


def _check(**conditions: tuple[bool, str]) -> None:
    bad = [f"prior.{name}: {what}" for name, (ok, what) in conditions.items() if not ok]
    if bad:
        raise ValueError("; ".join(bad))


def _labels(labels, key, n, num_classes):
    if labels is None:
        return jax.random.randint(key, (n,), 0, num_classes)
    return jnp.broadcast_to(jnp.asarray(labels, jnp.int32), (n,))


def gaussian(latent_dim: int, std: float = 1.0) -> Prior:
    """z ~ N(0, std² I) in `latent_dim` dimensions (the course prior: std 1, d = 100)."""
    _check(latent_dim=(latent_dim >= 1, f"{latent_dim} must be >= 1"), std=(std > 0, "must be > 0"))

    def init(key):
        del key
        return {}

    def sample(params, key, n, labels=None):
        del params
        if labels is not None:
            raise ValueError("the gaussian prior has no labelled components to choose from")
        return std * jax.random.normal(key, (n, latent_dim)), {}

    def log_prob(params, z):
        del params
        return _normal_log_prob(z, 0.0, std)

    return Prior(init, sample, log_prob, latent_dim)


def one_hot_gaussian(
    latent_dim: int,
    num_classes: int = 10,
    noise_std: float = 0.1,
    active_mean: float = 1.0,
    active_std: float = 0.0,
    stratified: bool = False,
) -> Prior:
    """ClusterGAN's z = [z_n | v·e_k]: z_n ~ N(0, noise_std² I) of dim latent_dim − K, k uniform.

    v = 1 in training. "Improving recall" sampling draws v ~ N(active_mean, active_std²) and
    exactly n/K samples per class (`stratified`); `log_prob` is the density of z_n plus log 1/K.
    """
    noise_dim = latent_dim - num_classes
    _check(
        num_classes=(num_classes >= 1, f"{num_classes} must be >= 1"),
        latent_dim=(
            noise_dim >= 1,
            f"{latent_dim} must exceed its one-hot part num_classes={num_classes}",
        ),
        noise_std=(noise_std > 0, "must be > 0"),
        active_std=(active_std >= 0, "must be >= 0"),
    )

    def init(key):
        del key
        return {}

    def sample(params, key, n, labels=None):
        del params
        k_n, k_c, k_v = jax.random.split(key, 3)
        if labels is None and stratified:
            labels = jnp.arange(n) % num_classes
        label = _labels(labels, k_c, n, num_classes)
        noise = noise_std * jax.random.normal(k_n, (n, noise_dim))
        active = active_mean + active_std * jax.random.normal(k_v, (n, 1))
        z = jnp.concatenate([noise, active * jax.nn.one_hot(label, num_classes)], axis=1)
        return z, {"label": label, "noise": noise}

    def log_prob(params, z):
        del params
        return _normal_log_prob(z[:, :noise_dim], 0.0, noise_std) - math.log(num_classes)

    return Prior(init, sample, log_prob, latent_dim, num_classes, code_dims=num_classes)


def gaussian_mixture(
    latent_dim: int,
    num_components: int = 10,
    mean_range: float = 0.1,
    sigma: float = 0.15,
    sigma_is_variance: bool = True,
    dynamic: bool = False,
) -> Prior:
    """GM-GAN: z ~ Σ_k (1/K) N(μ_k, diag s_k²), μ_k ~ U[−c, c]^d drawn at init, s_k = softplus(ρ_k).

    The initial std is √sigma when `sigma_is_variance` (the paper's Σ = σI), else sigma. Static:
    μ and s stay as drawn (they are still saved in the state); `dynamic`: learned with G's loss
    through the reparameterised sample z = μ_k + s_k ε.
    """
    _check(
        latent_dim=(latent_dim >= 1, f"{latent_dim} must be >= 1"),
        num_components=(num_components >= 1, f"{num_components} must be >= 1"),
        mean_range=(mean_range >= 0, "must be >= 0"),
        sigma=(sigma > 0, "must be > 0"),
    )
    std0 = math.sqrt(sigma) if sigma_is_variance else sigma
    rho0 = math.log(math.expm1(std0))  # softplus(rho0) = std0

    def init(key):
        means = jax.random.uniform(
            key, (num_components, latent_dim), jnp.float32, -mean_range, mean_range
        )
        return {"means": means, "rho": jnp.full((num_components, latent_dim), rho0, jnp.float32)}

    def sample(params, key, n, labels=None):
        k_c, k_e = jax.random.split(key)
        label = _labels(labels, k_c, n, num_components)
        eps = jax.random.normal(k_e, (n, latent_dim))
        std = jax.nn.softplus(params["rho"])
        return params["means"][label] + std[label] * eps, {"label": label}

    def log_prob(params, z):
        std = jax.nn.softplus(params["rho"])
        per_component = _normal_log_prob(z[:, None, :], params["means"], std)  # (n, K)
        return jax.nn.logsumexp(per_component, axis=1) - math.log(num_components)

    return Prior(init, sample, log_prob, latent_dim, num_components, trainable=dynamic)


PRIORS: dict[str, Callable[..., Prior]] = {
    "gaussian": gaussian,
    "one_hot_gaussian": one_hot_gaussian,
    "gaussian_mixture": gaussian_mixture,
}


def build(fields) -> Prior:
    """The prior of a `config.prior` subtree; a wrong name or field is one line."""
    return registry.build("prior", PRIORS, fields)
