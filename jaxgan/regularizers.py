"""Discriminator regularisers: pure functions of a logit function `d(x) -> (B,)` and the batches."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def gradient_penalty(d, real, fake, key):
    """WGAN-GP: mean_i (‖∇_x̂ d(x̂_i)‖₂ − 1)², x̂ = x + α(G(z) − x), α ~ U[0, 1] per sample."""
    alpha = jax.random.uniform(key, (real.shape[0],) + (1,) * (real.ndim - 1), real.dtype)
    x_hat = real + alpha * (fake - real)
    grads = jax.grad(lambda x: jnp.sum(d(x)))(x_hat)
    norms = jnp.sqrt(jnp.sum(grads.reshape(grads.shape[0], -1) ** 2, axis=-1) + 1e-12)
    return jnp.mean((norms - 1.0) ** 2)


def r1_penalty(d, real, fake, key):
    """R1: mean_i ‖∇_x d(x_i)‖² on the real batch (the objective weights it by γ/2)."""
    del fake, key
    grads = jax.grad(lambda x: jnp.sum(d(x)))(real)
    return jnp.mean(jnp.sum(grads.reshape(grads.shape[0], -1) ** 2, axis=-1))
