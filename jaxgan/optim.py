"""One optax optimiser per trained network, from `config.optim.<name>`: Adam or RMSprop by `name`,
PyTorch's coupled L2, the halving schedule, and WGAN's weight clipping as a projection."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from jaxgan import registry

# field -> (check, what it must be)
_CHECKS = {
    "lr": (lambda v: v > 0, "> 0"),
    "b1": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "b2": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "decay": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "weight_decay": (lambda v: v >= 0, ">= 0"),
    "eps_root": (lambda v: v >= 0, ">= 0"),
    "clip": (lambda v: v >= 0, ">= 0 (0: no clipping)"),
}


def _adam(lr, b1=0.9, b2=0.999, weight_decay=0.0, eps_root=0.0, clip=0.0):
    """Adam as PyTorch's (eps 1e-8); `eps_root` > 0 keeps its derivative finite (unrolled GAN)."""
    return _wrap(optax.adam(lr, b1=b1, b2=b2, eps=1e-8, eps_root=eps_root), weight_decay, clip)


def _rmsprop(lr, decay=0.99, weight_decay=0.0, clip=0.0):
    """RMSprop as PyTorch's defaults (alpha 0.99, eps 1e-8 outside the root), as WGAN used it."""
    return _wrap(optax.rmsprop(lr, decay=decay, eps=1e-8, eps_in_sqrt=False), weight_decay, clip)


def _wrap(tx, weight_decay: float, clip: float):
    """PyTorch's coupled L2 before the optimiser, the weight clipping after it."""
    if weight_decay:
        tx = optax.chain(optax.add_decayed_weights(weight_decay), tx)
    if clip:
        tx = optax.chain(tx, clip_params(clip))
    return tx


OPTIMIZERS = {"adam": _adam, "rmsprop": _rmsprop}


def clip_params(c: float) -> optax.GradientTransformation:
    """Turns the update into one that leaves every parameter in [−c, c] (WGAN's clipping, biases
    included, applied after the optimiser's step)."""

    def update(updates, state, params):
        new = jax.tree.map(lambda p, u: jnp.clip(p + u, -c, c) - p, params, updates)
        return new, state

    return optax.GradientTransformation(lambda params: optax.EmptyState(), update)


def optimizer(name: str, fields, schedule_at: int = 0) -> optax.GradientTransformation:
    """The transform of `config.optim.<name>`; a bad field is one line naming it.

    `schedule_at` > 0 halves the rate from that update on.
    """
    fields = dict(fields.to_dict() if hasattr(fields, "to_dict") else fields)
    fields.setdefault("name", "adam")
    for field, value in fields.items():
        if field in _CHECKS and not _CHECKS[field][0](value):
            raise ValueError(f"optim.{name}.{field}={value!r}: must be {_CHECKS[field][1]}")
    if schedule_at and "lr" in fields:
        fields["lr"] = optax.piecewise_constant_schedule(fields["lr"], {schedule_at: 0.5})
    return registry.build(f"optim.{name}", OPTIMIZERS, fields)


def optimizers(config, num_images: int, names=("g", "d", "prior")) -> dict:
    """An optimiser for each trained network `name`, from `config.optim.<name>`.

    With `optim.lr_halve_epoch` = E > 0 every rate halves once the first E data epochs are done
    (the teams' WGAN-GP recipe): D's from its update on epoch E + 1's first batch, the others' from
    the first G step after the one that completes epoch E.
    """
    optim = config.optim
    halve = optim.get("lr_halve_epoch", 0)
    if halve < 0:
        raise ValueError(f"optim.lr_halve_epoch={halve}: must be an integer >= 0 (0: constant)")
    d_halve = halve * (num_images // config.batch_size)
    g_halve = -(-d_halve // config.n_critic)
    out = {}
    for name in names:
        if name not in optim:
            raise ValueError(f"optim.{name}: missing; this variant trains {', '.join(names)}")
        out[name] = optimizer(name, optim[name], d_halve if name == "d" else g_halve)
    return out
