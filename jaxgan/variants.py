"""A variant's model: its prior, its named networks and its objective, built from a config.

`configs/<name>.py` is the variant: it picks a prior and an objective by name in their registries
(`jaxgan.priors.PRIORS`, `jaxgan.objectives.OBJECTIVES`) and sets their fields; this module wires
them to networks. The train step never looks at a name.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan import models, objectives, priors


class Model(NamedTuple):
    prior: priors.Prior
    nets: dict[str, nn.Module]  # "g", "d", and "enc" where the objective has an encoder
    objective: objectives.Objective
    input_dims: dict[str, int]  # each network's input width

    @property
    def apply(self) -> dict[str, Callable]:
        return {name: net.apply for name, net in self.nets.items()}

    @property
    def g_trains(self) -> tuple[str, ...]:
        """The parameters G's objective trains: G, a trainable prior, an encoder."""
        names = ["g"]
        if self.prior.trainable:
            names.append("prior")
        if "enc" in self.nets:
            names.append("enc")
        return tuple(names)

    @property
    def trained(self) -> tuple[str, ...]:
        return ("d", *self.g_trains)

    def init(self, key: jax.Array) -> dict:
        """Every network's and the prior's parameters from one key.

        G, D and the prior take the first three of `split(key, 5)` (the step and data keys are the
        other two, see `jaxgan.train`); any other network folds its name into the key.
        """
        k_g, k_d, k_prior = jax.random.split(key, 5)[:3]
        keys = {"g": k_g, "d": k_d}
        params = {"prior": self.prior.init(k_prior)}
        for name, net in self.nets.items():
            k = keys.get(name, jax.random.fold_in(key, zlib.crc32(name.encode()) & 0x7FFFFFFF))
            params[name] = net.init(k, jnp.zeros((1, self.input_dims[name])))
        return params


class UnknownVariant(ValueError):
    pass


def _mlp_d(nets_cfg: dict, objective: objectives.Objective, data_dim: int) -> nn.Module:
    """The course's MLP D of `nets.d_hidden`, with the last layer the objective declares."""
    hidden = tuple(nets_cfg.get("d_hidden", models.D_HIDDEN))
    return models.Discriminator(hidden, objective.d_outputs, objective.d_head)


def _conv_d(nets_cfg: dict, objective: objectives.Objective, data_dim: int) -> nn.Module:
    """The convolutional D of `nets.d_channels`; 28×28 images only."""
    if data_dim != models.IMAGE_DIM:
        raise ValueError(
            f"nets.d='conv' needs 28×28 images ({models.IMAGE_DIM} features), not this "
            f"dataset's {data_dim}-d samples; use nets.d=mlp"
        )
    channels = tuple(nets_cfg.get("d_channels", models.D_CHANNELS))
    if len(channels) > models.MAX_CONV_LAYERS:
        raise ValueError(
            f"nets.d_channels={channels!r}: at most {models.MAX_CONV_LAYERS} stride-2 layers "
            "fit a 28×28 image"
        )
    return models.ConvDiscriminator(channels, objective.d_outputs, objective.d_head)


# `config.nets.d` -> (nets fields, objective, data_dim) -> D
DISCRIMINATORS: dict[str, Callable[[dict, objectives.Objective, int], nn.Module]] = {
    "mlp": _mlp_d,
    "conv": _conv_d,
}


def build(config, data_dim: int = models.IMAGE_DIM) -> Model:
    """The model of `config` for data of `data_dim` features; a wrong field is one line."""
    prior = priors.build(config.prior)
    objective = objectives.build(config.objective, prior)
    nets_cfg = config.nets.to_dict() if hasattr(config.nets, "to_dict") else dict(config.nets)
    valid = {"g_hidden", "d_hidden", "enc_hidden", "g_out_scale", "d", "d_channels"}
    unknown = sorted(set(nets_cfg) - valid)
    if unknown:
        raise ValueError(f"nets.{unknown[0]}: no such field; valid: {', '.join(sorted(valid))}")
    d_name = nets_cfg.pop("d", "mlp")
    if not isinstance(d_name, str) or d_name not in DISCRIMINATORS:
        raise ValueError(f"nets.d={d_name!r}: valid: {', '.join(sorted(DISCRIMINATORS))}")
    models.check_widths(nets_cfg)
    g_hidden = tuple(nets_cfg.get("g_hidden", models.G_HIDDEN))
    d_hidden = tuple(nets_cfg.get("d_hidden", models.D_HIDDEN))
    nets = {"g": models.Generator(g_hidden, data_dim, float(nets_cfg.get("g_out_scale", 1.0)))}
    nets["d"] = DISCRIMINATORS[d_name](nets_cfg, objective, data_dim)
    dims = {"g": prior.latent_dim, "d": data_dim + objective.d_extra_inputs}
    if objective.encoder is not None:
        noise_dim, num_classes = objective.encoder
        enc_hidden = tuple(nets_cfg.get("enc_hidden", d_hidden))
        nets["enc"] = models.Encoder(enc_hidden, noise_dim, num_classes)
        dims["enc"] = data_dim
    return Model(prior, nets, objective, dims)

