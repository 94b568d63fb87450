"""G losses on a feature distance between real and fake batches (`latent_priors.md` §7): feature
matching (batch means) added to G's BCE as the teams did, or replacing it as Salimans et al.
define it, and the teams' pair-wise perceptual loss."""

from __future__ import annotations

import jax.numpy as jnp

from jaxgan import frozen
from jaxgan.objectives.adversarial import bce
from jaxgan.objectives.core import Objective, _positive

NETWORKS = ("classifier", "d")


def _features(network: str):
    """(ctx, x) -> (B, F): the frozen network's features, or D's last hidden layer (live D)."""
    if network == "d":
        return lambda ctx, x: ctx.net("d", x)["features"]
    return lambda ctx, x: frozen.features(network, ctx.frozen[network], x)


def _with_feature_loss(prior, weight, network, distance, name, adversarial=True) -> Objective:
    if network not in NETWORKS:
        raise ValueError(f"objective.network={network!r}: valid: {', '.join(NETWORKS)}")
    _positive(weight=weight)
    base = bce(prior)
    feats = _features(network)

    def g_loss(ctx):
        adv, _ = base.g_loss(ctx)
        dist = distance(feats(ctx, ctx.fake), feats(ctx, ctx.real))
        return (adv if adversarial else 0.0) + weight * dist, {"g_adv": adv, name: dist}

    needs = () if network == "d" else (network,)
    return base._replace(g_loss=g_loss, frozen=needs)


def feature_matching(prior, weight: float = 1.0, network: str = "classifier",
                     adversarial: bool = True) -> Objective:
    """G: BCE + weight·mean_j (mean_batch f_j(G(z)) − mean_batch f_j(x))², the teams' additive
    form; f is the frozen MNIST classifier's 128-d features, or D's last hidden layer
    (`network="d"`).

    `adversarial=False` is Salimans et al.'s (2016, §3.1) feature matching: G's loss is
    weight·‖mean_batch f(G(z)) − mean_batch f(x)‖² alone (a sum over features, as the paper writes
    it), on D's last hidden layer, which D keeps training with its BCE loss.
    """
    if adversarial:
        distance = lambda f_fake, f_real: jnp.mean((f_fake.mean(0) - f_real.mean(0)) ** 2)
    elif network != "d":
        raise ValueError("objective.adversarial=False (Salimans et al.'s feature matching) reads "
                         "D's features: set objective.network='d'")
    else:
        distance = lambda f_fake, f_real: jnp.sum((f_fake.mean(0) - f_real.mean(0)) ** 2)
    return _with_feature_loss(prior, weight, network, distance, "feature_match", adversarial)


def perceptual(prior, weight: float = 0.01, network: str = "classifier") -> Objective:
    """BCE + weight·mean((φ(G(z_i)) − φ(x_i))²) over random real/fake pairs of the batch, as the
    teams did (with VGG16 slices; here φ is the frozen MNIST classifier's features)."""
    distance = lambda f_fake, f_real: jnp.mean((f_fake - f_real) ** 2)
    return _with_feature_loss(prior, weight, network, distance, "perceptual")
