"""Adversarial losses as pure functions of discriminator outputs (dicts from `jaxgan.models`).

Logits are raw (no sigmoid); BCE terms use softplus: -log σ(t) = softplus(-t). All losses are
minimised and averaged over the batch. D losses take `(real_out, fake_out)`, G losses `fake_out`.
"""

from __future__ import annotations

import jax.numpy as jnp
from jax.nn import relu, softplus


def bce_d(real, fake):
    """Non-saturating GAN, D: BCE(d(x), 1) + BCE(d(G(z)), 0), the sum of the two means."""
    return jnp.mean(softplus(-real["logit"])) + jnp.mean(softplus(fake["logit"]))


def bce_g(fake):
    """Non-saturating GAN, G: BCE(d(G(z)), 1)."""
    return jnp.mean(softplus(-fake["logit"]))


def wasserstein_d(real, fake):
    """WGAN critic: mean d(G(z)) − mean d(x)."""
    return jnp.mean(fake["logit"]) - jnp.mean(real["logit"])


def wasserstein_g(fake):
    """WGAN and hinge generator: −mean d(G(z))."""
    return -jnp.mean(fake["logit"])


def hinge_d(real, fake):
    """Hinge D: mean relu(1 − d(x)) + mean relu(1 + d(G(z)))."""
    return jnp.mean(relu(1.0 - real["logit"])) + jnp.mean(relu(1.0 + fake["logit"]))


hinge_g = wasserstein_g


def san_d(fun_loss):
    """SAN D loss: `fun_loss` on the "fun" outputs plus the linear (Wasserstein) loss on "dir"."""

    def loss(real, fake):
        fun = fun_loss({"logit": real["fun"]}, {"logit": fake["fun"]})
        return fun + jnp.mean(fake["dir"]) - jnp.mean(real["dir"])

    return loss


san_hinge_d = san_d(hinge_d)
san_bce_d = san_d(bce_d)
