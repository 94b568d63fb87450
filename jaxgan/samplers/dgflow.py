"""DGflow (Ansari et al. 2021; `losses_and_samplers.md` §4): z ← z + η·s(d)·∇_z d(G(z)) +
√(2ηγ)·ξ, with s = 1 (KL), σ(d) (JS) or σ(−d) (logD), then x = G(z); no prior term."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

# v = ∇_z F(d(G(z))) with F the potential of each f-divergence's velocity
POTENTIALS = {"KL": lambda d: d, "JS": jax.nn.softplus, "logD": lambda d: -jax.nn.softplus(-d)}


def flow(potential_of_z, z, key, steps: int, eta: float, gamma: float, movable=None):
    """`steps` steps of the flow from z; coordinates where `movable` is False keep their value."""
    grad = jax.grad(lambda z: jnp.sum(potential_of_z(z)))

    def body(i, z):
        xi = jax.random.normal(jax.random.fold_in(key, i), z.shape)
        new = z + eta * grad(z) + jnp.sqrt(2 * eta * gamma) * xi
        return jax.lax.stop_gradient(new if movable is None else jnp.where(movable, new, z))

    return jax.lax.fori_loop(0, steps, body, z)


def sample(source, critic, key, n, steps=25, divergence="KL", eta=0.1, gamma=0.01, batch=1000):
    if steps < 0:
        raise ValueError(f"--dgflow_steps={steps}: must be >= 0")
    if divergence not in POTENTIALS:
        raise ValueError(f"--dgflow_div={divergence!r}: valid: {', '.join(POTENTIALS)}")
    if not eta > 0 or gamma < 0:
        raise ValueError(f"--dgflow_eta={eta}, --dgflow_gamma={gamma}: need η > 0, γ >= 0")
    d = critic.on_latent(source)
    potential = lambda z: POTENTIALS[divergence](d(z))

    @jax.jit
    def run(key):
        k_z, k_f = jax.random.split(key)
        z = flow(potential, source.latent(k_z, batch), k_f, steps, eta, gamma, source.movable)
        return source.generate(z)

    out = [np.asarray(run(jax.random.fold_in(key, i))) for i in range(-(-n // batch))]
    return np.concatenate(out)[:n], {"attempts": n, "acceptance": 1.0, "steps": steps}
