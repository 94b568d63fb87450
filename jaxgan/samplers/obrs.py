"""Optimal budgeted rejection sampling (Vérine et al. 2024; `losses_and_samplers.md` §3.3): accept
with a(x) = min(1, c·r(x)/max r), c set so that the mean acceptance on a pilot set is the budget's
1/B, and never below the classic rule's (c ≥ 1)."""

from __future__ import annotations

import jax
import numpy as np

from jaxgan.samplers.source import candidates, pilot_scores, reject


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


def sample(source, critic, key, n, budget=2.0, batch=1000, pilot=10000, max_attempts=None):
    """`n` samples drawn with about `budget` candidates each (acceptance 1/budget; more when the
    classic rule, c = 1, already accepts more)."""
    if not budget >= 1:
        raise ValueError(f"--obrs_budget={budget}: must be >= 1 (candidates per kept sample)")
    draw = candidates(source, critic.log_ratio, batch)
    k_pilot, k_run = jax.random.split(key)
    d = pilot_scores(draw, k_pilot, pilot, batch)
    d_max = d.max()
    c = solve_c(np.exp(d - d_max), 1.0 / budget)
    accept = lambda dx: np.minimum(1.0, c * np.exp(dx - d_max))
    x, kept, attempts = reject(draw, accept, k_run, n, batch, max_attempts or 1000 * n, "OBRS")
    return x, {"attempts": attempts, "acceptance": kept / attempts, "c": c,
               "pilot_acceptance": float(accept(d).mean())}
