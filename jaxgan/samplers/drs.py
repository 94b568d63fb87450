"""Discriminator rejection sampling (Azadi et al. 2019; `losses_and_samplers.md` §3.1): accept
x ~ p_g with probability σ(F), F = d − d_M − log(1 − e^{d − d_M − ε}) − γ, d the log-ratio, d_M
its running maximum from a burn-in set on, γ a percentile of F per batch (or fixed)."""

from __future__ import annotations

import jax
import numpy as np

from jaxgan.samplers.source import candidates, pilot_scores, reject


def accept_logit(d, d_max, eps, gamma):
    """F(x) − γ; with ε = γ = 0, σ(F) = e^{d − d_M} exactly."""
    d = np.asarray(d, np.float64)
    return d - d_max - np.log1p(-np.exp(d - d_max - eps)) - gamma


def sample(source, critic, key, n, batch=1000, burn_in=10000, eps=1e-6, gamma=None,
           percentile=95.0, max_attempts=None):
    """`n` accepted samples; `gamma` None: the `percentile`-th percentile of F in each batch."""
    if gamma is None and not 0 <= percentile <= 100:
        raise ValueError(f"--drs_percentile={percentile}: must be in [0, 100]")
    draw = candidates(source, critic.log_ratio, batch)
    k_burn, k_run = jax.random.split(key)
    d_max = pilot_scores(draw, k_burn, burn_in, batch).max()

    def accept(d):
        nonlocal d_max
        d_max = max(d_max, d.max())
        logit = accept_logit(d, d_max, eps, 0.0)
        g = np.percentile(logit, percentile) if gamma is None else gamma
        return 1.0 / (1.0 + np.exp(-(logit - g)))

    x, kept, attempts = reject(draw, accept, k_run, n, batch, max_attempts or 1000 * n, "DRS")
    return x, {"attempts": attempts, "acceptance": kept / attempts, "d_max": float(d_max)}
