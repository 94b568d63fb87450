"""The adversarial loss pairs: BCE, WGAN (clipping) and WGAN-GP, hinge, SAN, R1."""

from __future__ import annotations

from jaxgan import losses, regularizers
from jaxgan.objectives.core import Objective, _positive, adversarial
from jaxgan.priors import Prior


def bce(prior: Prior) -> Objective:
    """Non-saturating GAN (the course template); D's logit estimates log p_data/p_g."""
    return adversarial(losses.bce_d, losses.bce_g)._replace(calibrated=True)


def r1(prior: Prior, gamma: float = 10.0) -> Objective:
    """BCE with R1 on real data, (γ/2)·E‖∇_x d(x)‖² (`losses_and_samplers.md` §6; GAN_stability's
    `reg_param` r is γ = 2r, StyleGAN2-ADA's and StudioGAN's r1_gamma is γ)."""
    _positive(gamma=gamma)
    return adversarial(
        losses.bce_d, losses.bce_g, ((gamma / 2, regularizers.r1_penalty),)
    )._replace(calibrated=True)


def wgan(prior: Prior) -> Objective:
    """WGAN with weight clipping: the Wasserstein pair alone; the clipping is D's optimiser's
    (`optim.d.clip`), applied after every critic update."""
    return adversarial(losses.wasserstein_d, losses.wasserstein_g)


def wgan_gp(prior: Prior, gp_weight: float = 10.0) -> Objective:
    """Wasserstein critic with the gradient penalty (per-sample interpolates)."""
    _positive(gp_weight=gp_weight)
    return adversarial(
        losses.wasserstein_d, losses.wasserstein_g, ((gp_weight, regularizers.gradient_penalty),)
    )


def hinge(prior: Prior) -> Objective:
    return adversarial(losses.hinge_d, losses.hinge_g)


_SAN_LOSSES = {
    "hinge": (losses.san_hinge_d, losses.hinge_g),
    "bce": (losses.san_bce_d, losses.bce_g),
}


def san(prior: Prior, loss: str = "hinge") -> Objective:
    """SAN: D's last layer trained on the `loss` ("hinge" or "bce") and the direction separately."""
    if loss not in _SAN_LOSSES:
        raise ValueError(f"objective.loss={loss!r}: valid: {', '.join(sorted(_SAN_LOSSES))}")
    return adversarial(*_SAN_LOSSES[loss])._replace(d_head="san", calibrated=loss == "bce")
