"""Discriminator rejection sampling (Azadi et al. 2019; `losses_and_samplers.md` §3.1): accept
x ~ p_g with probability σ(F), F = d − d_M − log(1 − e^{d − d_M − ε}) − γ, d the log-ratio, d_M
its running maximum from a burn-in set on, γ a percentile of F per batch (or fixed)."""

from __future__ import annotations

import jax
import numpy as np


def accept_logit(d, d_max, eps, gamma):
    """F(x) − γ; with ε = γ = 0, σ(F) = e^{d − d_M} exactly."""
    d = np.asarray(d, np.float64)
    return d - d_max - np.log1p(-np.exp(d - d_max - eps)) - gamma


def sample(source, critic, key, n, batch=1000, burn_in=10000, eps=1e-6, gamma=None,
           percentile=95.0, max_attempts=None):
    """`n` accepted samples; `gamma` None: the `percentile`-th percentile of F in each batch."""
    f = jax.jit(lambda k: (lambda x: (x, critic.log_ratio(x)))(
        source.generate(source.latent(k, batch))))
    k_burn, k_run, k_u = jax.random.split(key, 3)
    d_max = -np.inf
    for i in range(-(-burn_in // batch)):
        d_max = max(d_max, float(np.max(np.asarray(f(jax.random.fold_in(k_burn, i))[1]))))
    rng = np.random.default_rng(np.asarray(jax.random.key_data(k_u)).ravel())
    max_attempts = max_attempts or 1000 * n
    kept, attempts, i = [], 0, 0
    while sum(len(k) for k in kept) < n:
        if attempts >= max_attempts:
            raise ValueError(f"DRS accepted {sum(len(k) for k in kept)} of {n} samples in "
                               f"{attempts} candidates; raise the acceptance (lower gamma)")
        x, d = (np.asarray(a) for a in f(jax.random.fold_in(k_run, i)))
        i += 1
        attempts += batch
        d_max = max(d_max, float(d.max()))
        logit = accept_logit(d, d_max, eps, 0.0)
        g = np.percentile(logit, percentile) if gamma is None else gamma
        p = 1.0 / (1.0 + np.exp(-(logit - g)))
        kept.append(x[rng.random(batch) < p])
    accepted = np.concatenate(kept)
    return accepted[:n], {"attempts": attempts, "acceptance": len(accepted) / attempts,
                          "d_max": d_max}
