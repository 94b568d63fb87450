"""Unrolled GAN (Metz et al. 2017; `latent_priors.md` §5): G's loss is read from D after `steps`
differentiable D updates, Adam's moments included, so G sees how D would answer its move."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.nn import softplus

from jaxgan.objectives.adversarial import bce
from jaxgan.objectives.core import Objective, d_real_fake


def unrolled(
    prior, steps: int = 5, saturating: bool = True, first_order: bool = False
) -> Objective:
    """BCE, with G's loss taken at θ_D^K, K = `steps` D updates on this batch and these fakes.

    `saturating` (the official code): G minimises −[BCE(d_K(x), 1) + BCE(d_K(G(z)), 0)], whose
    real term reaches G through θ_D^K; otherwise the non-saturating BCE(d_K(G(z)), 1) (the PyTorch
    port). `first_order` stops the gradient along the unrolled trajectory (the port's ablation).
    D itself still takes one update per step. D's Adam needs `eps_root` > 0 for the second-order
    gradient to stay finite.
    """
    if not isinstance(steps, int) or steps < 0:
        raise ValueError(f"objective.steps={steps!r}: must be an integer >= 0")
    base = bce(prior)

    def g_loss(ctx):
        def unroll(carry, key):
            d, opt_state = ctx.d_step(*carry, key)
            if first_order:
                d, opt_state = jax.lax.stop_gradient((d, opt_state))
            return (d, opt_state), None

        keys = jax.random.split(ctx.key, steps)
        (d_k, _), _ = jax.lax.scan(unroll, (ctx.params["d"], ctx.d_opt_state), keys)
        ctx_k = ctx._replace(params=ctx.params | {"d": d_k})
        if saturating:
            real_out, fake_out = d_real_fake(ctx_k)
            loss = -jnp.mean(softplus(-real_out["logit"])) - jnp.mean(softplus(fake_out["logit"]))
        else:
            loss = jnp.mean(softplus(-ctx_k.net("d", ctx.fake)["logit"]))
        return loss, {}

    return base._replace(g_loss=g_loss)
