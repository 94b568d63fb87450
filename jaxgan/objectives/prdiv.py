"""Precision–recall divergence training (Vérine et al. 2023; `losses_and_samplers.md` §5.2, mode
"PR"): D is a χ² f-GAN critic whose output gives a ratio estimate r̂ = T/2 + 1, and G maximises
the primal estimates of the PR curve at slope λ (large λ favours precision, small λ recall)."""

from __future__ import annotations

import jax.numpy as jnp

from jaxgan.objectives.core import Objective, d_real_fake

T_MIN, T_MAX = -2.0, 5.0  # the official χ² clamps


def ratio(t):
    """r̂ = p_data/p_g from the χ² critic's output, clamped as the official code."""
    return jnp.clip(t, T_MIN, T_MAX) / 2.0 + 1.0


def prgan(prior, lam: float = 1.0) -> Objective:
    """D: −mean min(T(x), 5) + mean q(max(T(G(z)), −2)), q(t) = t²/4 + t (χ² conjugate).
    G: −(α̂_λ + β̂_λ)/2 from r̂ on a real and a fake batch:
    α̂ = ½ mean min(λ r̂(G(z)), 1) + ½ mean min(1/r̂(x), λ), β̂ = ½ mean min(r̂(G(z)), 1/λ) + ½ mean
    min(1/(λ r̂(x)), 1); only the fake terms carry G's gradient."""
    if not lam > 0:
        raise ValueError(f"objective.lam={lam!r}: must be > 0")

    def d_loss(ctx):
        real_out, fake_out = d_real_fake(ctx)
        t_r, t_f = real_out["logit"], fake_out["logit"]
        t_fc = jnp.maximum(t_f, T_MIN)
        loss = -jnp.mean(jnp.minimum(t_r, T_MAX)) + jnp.mean(t_fc**2 / 4 + t_fc)
        return loss, {"real_logit": jnp.mean(t_r), "fake_logit": jnp.mean(t_f)}

    def g_loss(ctx):
        real_out, fake_out = d_real_fake(ctx)
        r_f = ratio(fake_out["logit"])
        inv_r = 1.0 / jnp.maximum(ratio(real_out["logit"]), 1e-6)
        alpha = 0.5 * jnp.mean(jnp.minimum(lam * r_f, 1.0)) + 0.5 * jnp.mean(
            jnp.minimum(inv_r, lam))
        beta = 0.5 * jnp.mean(jnp.minimum(r_f, 1.0 / lam)) + 0.5 * jnp.mean(
            jnp.minimum(inv_r / lam, 1.0))
        return -0.5 * alpha - 0.5 * beta, {"pr_alpha": alpha, "pr_beta": beta}

    realness = lambda out: jnp.log(ratio(out["logit"]) + 1e-6)
    return Objective(d_loss, g_loss, realness=realness, calibrated=True)
