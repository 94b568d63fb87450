"""Optimal budgeted rejection sampling (Vérine et al. 2024; `losses_and_samplers.md` §3.3): accept
with a(x) = min(1, c·r(x)/max r), c set so that the mean acceptance on a pilot set is the budget's
1/B, and never below the classic rule's (c ≥ 1)."""

from __future__ import annotations

import jax
import numpy as np


def solve_c(w: np.ndarray, rate: float) -> float:
    """The c with mean_i min(1, c·w_i) = rate for weights w in (0, 1] (the largest is 1), exactly:
    with the j largest saturated, c = (N·rate − j) / Σ_{i>j} w_(i). Clamped to c ≥ 1."""
    w = np.sort(np.asarray(w, np.float64))[::-1]
    n = len(w)
    tail = np.concatenate([np.cumsum(w[::-1])[::-1], [0.0]])  # tail[j] = Σ_{i>=j} w_(i) (0-based)
    for j in range(n):
        c = (n * rate - j) / tail[j]
        if (j == 0 or c * w[j - 1] >= 1.0) and c * w[j] < 1.0:
            return max(c, 1.0)
    return max(1.0 / w[-1], 1.0)  # rate 1: everything saturates


def sample(source, critic, key, n, budget=2.0, batch=1000, pilot=10000):
    """`n` samples drawn with about `budget` candidates each (acceptance 1/budget; more when the
    classic rule, c = 1, already accepts more)."""
    if not budget >= 1:
        raise ValueError(f"--obrs_budget={budget}: must be >= 1 (candidates per kept sample)")
    f = jax.jit(lambda k: (lambda x: (x, critic.log_ratio(x)))(
        source.generate(source.latent(k, batch))))
    k_pilot, k_run, k_u = jax.random.split(key, 3)
    d = np.concatenate([np.asarray(f(jax.random.fold_in(k_pilot, i))[1])
                        for i in range(-(-pilot // batch))]).astype(np.float64)
    d_max = d.max()
    c = solve_c(np.exp(d - d_max), 1.0 / budget)
    rng = np.random.default_rng(np.asarray(jax.random.key_data(k_u)).ravel())
    kept, attempts, i = [], 0, 0
    while sum(len(k) for k in kept) < n:
        x, dx = (np.asarray(a) for a in f(jax.random.fold_in(k_run, i)))
        i += 1
        attempts += batch
        a = np.minimum(1.0, c * np.exp(dx.astype(np.float64) - d_max))
        kept.append(x[rng.random(batch) < a])
    accepted = np.concatenate(kept)
    return accepted[:n], {"attempts": attempts, "acceptance": len(accepted) / attempts,
                          "c": c, "pilot_acceptance": float(np.minimum(1, c * np.exp(d - d_max))
                                                              .mean())}
