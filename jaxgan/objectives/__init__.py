"""Objectives: what D and G (with the networks G's loss trains) minimise, as pure functions,
by name (`config.objective.name`). The interface is `jaxgan.objectives.core`."""

from __future__ import annotations

from collections.abc import Callable

from jaxgan import registry
from jaxgan.objectives.adversarial import bce, hinge, r1, san, wgan, wgan_gp
from jaxgan.objectives.core import Context, Objective, adversarial, class_ce, d_real_fake
from jaxgan.objectives.features import feature_matching, perceptual
from jaxgan.objectives.latent import clustergan, gm_supervised, gm_wgan_gp, mmgan
from jaxgan.objectives.mdgan import mdgan
from jaxgan.objectives.prdiv import prgan
from jaxgan.objectives.unrolled import unrolled
from jaxgan.priors import Prior

OBJECTIVES: dict[str, Callable[..., Objective]] = {
    "bce": bce,
    "wgan": wgan,
    "wgan_gp": wgan_gp,
    "hinge": hinge,
    "san": san,
    "r1": r1,
    "unrolled": unrolled,
    "mdgan": mdgan,
    "prgan": prgan,
    "feature_matching": feature_matching,
    "perceptual": perceptual,
    "clustergan": clustergan,
    "gm_supervised": gm_supervised,
    "gm_wgan_gp": gm_wgan_gp,
    "mmgan": mmgan,
}

__all__ = ["OBJECTIVES", "Context", "Objective", "adversarial", "build", "class_ce",
           "d_real_fake", *OBJECTIVES]


def build(fields, prior: Prior) -> Objective:
    """The objective of a `config.objective` subtree for `prior`; a wrong field is one line."""
    return registry.build("objective", OBJECTIVES, fields, prior=prior)
