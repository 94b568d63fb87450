"""The variant registry: name -> the prior, networks, losses and regularisers the step calls.

A variant's hyper-parameters live in `configs/<name>.py`; this registry holds only functions, and
the train step never looks at the name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import flax.linen as nn

from jaxgan import losses, models, priors, regularizers


class Components(NamedTuple):
    prior: priors.Prior
    generator: nn.Module
    discriminator: nn.Module
    d_loss: Callable
    g_loss: Callable
    # (weight, fn(d, real, fake, key)) pairs added to the D loss
    regularizers: tuple[tuple[float, Callable], ...] = ()


def _vanilla(config):
    return Components(
        priors.gaussian(config.latent_dim),
        models.Generator(),
        models.Discriminator(),
        losses.bce_d,
        losses.bce_g,
    )


def _wgan_gp(config):
    return Components(
        priors.gaussian(config.latent_dim),
        models.Generator(),
        models.Discriminator(),
        losses.wasserstein_d,
        losses.wasserstein_g,
        ((config.gp_weight, regularizers.gradient_penalty),),
    )


def _hinge(config):
    return Components(
        priors.gaussian(config.latent_dim),
        models.Generator(),
        models.Discriminator(),
        losses.hinge_d,
        losses.hinge_g,
    )


_SAN_LOSSES = {
    "hinge": (losses.san_hinge_d, losses.hinge_g),
    "bce": (losses.san_bce_d, losses.bce_g),
}


def _san(config):
    if config.san_loss not in _SAN_LOSSES:
        raise ValueError(
            f"unknown san_loss {config.san_loss!r}; valid: {', '.join(sorted(_SAN_LOSSES))}"
        )
    d_loss, g_loss = _SAN_LOSSES[config.san_loss]
    return Components(
        priors.gaussian(config.latent_dim),
        models.Generator(),
        models.SANDiscriminator(),
        d_loss,
        g_loss,
    )


VARIANTS: dict[str, Callable[[Any], Components]] = {
    "vanilla": _vanilla,
    "wgan_gp": _wgan_gp,
    "hinge": _hinge,
    "san": _san,
}


class UnknownVariant(ValueError):
    pass


def build(config) -> Components:
    """The components of `config.variant`; an unknown name lists the valid ones."""
    if config.variant not in VARIANTS:
        raise UnknownVariant(
            f"unknown variant {config.variant!r}; valid: {', '.join(sorted(VARIANTS))}"
        )
    return VARIANTS[config.variant](config)
