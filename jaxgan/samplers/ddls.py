"""Discriminator-driven latent sampling (Che et al. 2020; `losses_and_samplers.md` §2): Langevin
dynamics on E(z) = −log p_0(z) − d(G(z)), z ← z − (ε/2)∇E(z) + √ε·s·n, then x = G(z)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def langevin(energy, z, key, steps: int, eps: float, noise: float, movable=None):
    """`steps` unadjusted Langevin steps on `energy` (z -> (n,)) from z; steps = 0 returns z.
    Coordinates where `movable` (latent_dim,) is False keep their value."""
    grad = jax.grad(lambda z: jnp.sum(energy(z)))

    def body(i, z):
        n = jax.random.normal(jax.random.fold_in(key, i), z.shape)
        new = z - 0.5 * eps * grad(z) + jnp.sqrt(eps) * noise * n
        return jax.lax.stop_gradient(new if movable is None else jnp.where(movable, new, z))

    return jax.lax.fori_loop(0, steps, body, z)


def sample(source, critic, key, n, steps=50, eps=0.01, noise=1.0, batch=1000, use_d=True):
    """`n` samples after `steps` Langevin steps of size `eps` (noise scale `noise`; 1 is exact
    Langevin). `use_d=False` keeps only the prior's energy (a check: p_0 is then invariant)."""
    if steps < 0:
        raise ValueError(f"--ddls_steps={steps}: must be >= 0")
    if not eps > 0:
        raise ValueError(f"--ddls_eps={eps}: must be > 0")
    d = critic.on_latent(source) if use_d else (lambda z: 0.0)
    energy = lambda z: -source.log_prior(z) - d(z)

    @jax.jit
    def run(key):
        k_z, k_l = jax.random.split(key)
        z = langevin(energy, source.latent(k_z, batch), k_l, steps, eps, noise, source.movable)
        return source.generate(z)

    out = [np.asarray(run(jax.random.fold_in(key, i))) for i in range(-(-n // batch))]
    return np.concatenate(out)[:n], {"attempts": n, "acceptance": 1.0, "steps": steps}
