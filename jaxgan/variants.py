"""A variant's model: its prior, its named networks and its objective, built from a config.

`configs/<name>.py` is the variant: it picks a prior and an objective by name in their registries
(`jaxgan.priors.PRIORS`, `jaxgan.objectives.OBJECTIVES`) and sets their fields; this module wires
them to networks. The train step never looks at a name.
"""

from __future__ import annotations

import inspect
import zlib
from collections.abc import Callable
from typing import NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan import models, objectives, priors, registry


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


def mlp_d(d_hidden=models.D_HIDDEN, *, objective: objectives.Objective,
          data_dim: int) -> nn.Module:
    """The course's MLP D of `nets.d_hidden`, with the last layer the objective declares."""
    return models.Discriminator(tuple(d_hidden), objective.d_outputs, objective.d_head)


def conv_d(d_channels=models.D_CHANNELS, *, objective: objectives.Objective,
           data_dim: int) -> nn.Module:
    """The convolutional D of `nets.d_channels`; 28×28 images only."""
    if data_dim != models.IMAGE_DIM:
        raise ValueError(
            f"nets.d='conv' needs 28×28 images ({models.IMAGE_DIM} features), not this "
            f"dataset's {data_dim}-d samples; use nets.d=mlp"
        )
    if len(d_channels) > models.MAX_CONV_LAYERS:
        raise ValueError(
            f"nets.d_channels={tuple(d_channels)!r}: at most {models.MAX_CONV_LAYERS} stride-2 "
            "layers fit a 28×28 image"
        )
    return models.ConvDiscriminator(tuple(d_channels), objective.d_outputs, objective.d_head)


# `config.nets.d` names D's builder; its keyword fields are read from `config.nets`
DISCRIMINATORS: dict[str, Callable[..., nn.Module]] = {"mlp": mlp_d, "conv": conv_d}
# `config.nets` fields of G and the encoder (whose widths default to `d_hidden`)
OTHER_NET_FIELDS = ("g_hidden", "g_out_scale", "enc_hidden")


def _d_fields(name: str) -> set[str]:
    return {p for p in inspect.signature(DISCRIMINATORS[name]).parameters
            if p not in ("objective", "data_dim")}


def _discriminator(nets_cfg: dict, objective, data_dim: int) -> nn.Module:
    """D through the registry, given the `config.nets` fields its builder reads."""
    name = nets_cfg.get("d", "mlp")
    if not isinstance(name, str) or name not in DISCRIMINATORS:
        raise ValueError(f"nets.d={name!r}: valid: {', '.join(sorted(DISCRIMINATORS))}")
    fields = {"name": name, **{f: nets_cfg[f] for f in _d_fields(name) if f in nets_cfg}}
    return registry.build("nets.d", DISCRIMINATORS, fields, objective=objective,
                          data_dim=data_dim)


def build(config, data_dim: int = models.IMAGE_DIM) -> Model:
    """The model of `config` for data of `data_dim` features; a wrong field is one line."""
    prior = priors.build(config.prior)
    objective = objectives.build(config.objective, prior)
    nets_cfg = config.nets.to_dict() if hasattr(config.nets, "to_dict") else dict(config.nets)
    valid = {"d", *OTHER_NET_FIELDS}.union(*map(_d_fields, DISCRIMINATORS))
    unknown = sorted(set(nets_cfg) - valid)
    if unknown:
        raise ValueError(f"nets.{unknown[0]}: no such field; valid: {', '.join(sorted(valid))}")
    models.check_widths({k: v for k, v in nets_cfg.items() if k != "d"})
    nets = {"g": models.Generator(tuple(nets_cfg.get("g_hidden", models.G_HIDDEN)), data_dim,
                                  float(nets_cfg.get("g_out_scale", 1.0)))}
    nets["d"] = _discriminator(nets_cfg, objective, data_dim)
    dims = {"g": prior.latent_dim, "d": data_dim + objective.d_extra_inputs}
    if objective.encoder is not None:
        noise_dim, num_classes = objective.encoder
        enc_hidden = nets_cfg.get("enc_hidden", nets_cfg.get("d_hidden", models.D_HIDDEN))
        nets["enc"] = models.Encoder(tuple(enc_hidden), noise_dim, num_classes)
        dims["enc"] = data_dim
    return Model(prior, nets, objective, dims)

