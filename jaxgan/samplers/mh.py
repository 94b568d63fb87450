"""MH-GAN (Turner et al. 2019; `losses_and_samplers.md` §3.2): an independence Metropolis–Hastings
chain per output with G's samples as proposals, accepting x' over x_k with probability
min(1, e^{d(x') − d(x_k)}), d the calibrated log-ratio. Each chain starts at a held-out real
sample's score, so it needs no burn-in; a chain that never moves returns its first proposal."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

STARTS_FROM_REAL = True  # chains start at held-out real samples' scores, on a calibrated D


def sample(source, critic, key, n, steps=640, batch=500, real_scores=None):
    """`n` chain ends of `steps` proposals each; `real_scores`: log-ratios of held-out real
    samples to start from (required)."""
    if steps < 1:
        raise ValueError(f"--mh_steps={steps}: must be >= 1")
    real_scores = jnp.asarray(real_scores, jnp.float32)

    @jax.jit
    def chains(key):
        k_init, k_run = jax.random.split(key)
        d0 = jax.random.choice(k_init, real_scores, (batch,))
        x0 = jnp.zeros((batch, source.data_dim))

        def step(carry, inputs):
            x, d, moved, first = carry
            k, i = inputs
            k_z, k_u = jax.random.split(k)
            xp = source.generate(source.latent(k_z, batch))
            dp = critic.log_ratio(xp)
            accept = jnp.log(jax.random.uniform(k_u, (batch,))) < dp - d
            first = jnp.where(i == 0, xp, first)
            x = jnp.where(accept[:, None], xp, x)
            return (x, jnp.where(accept, dp, d), moved | accept, first), jnp.mean(accept)

        init = (x0, d0, jnp.zeros(batch, bool), jnp.zeros_like(x0))
        inputs = (jax.random.split(k_run, steps), jnp.arange(steps))
        (x, _, moved, first), rates = jax.lax.scan(step, init, inputs)
        return jnp.where(moved[:, None], x, first), moved, jnp.mean(rates)

    out, stuck, rates = [], 0, []
    for i in range(-(-n // batch)):
        x, moved, rate = chains(jax.random.fold_in(key, i))
        out.append(np.asarray(x))
        kept = min(batch, n - i * batch)  # the chains whose ends are returned
        stuck += int(kept - np.asarray(moved)[:kept].sum())
        rates.append(float(rate))
    return np.concatenate(out)[:n], {
        "attempts": len(out) * batch * steps,
        "acceptance": float(np.mean(rates)),  # per MH step
        "chains_never_moved": stuck,
    }
