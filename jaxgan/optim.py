"""One optax optimiser per trained network, from `config.optim.<name>`: Adam or RMSprop by `name`,
PyTorch's coupled L2, the multi-step decay of every rate, and WGAN's weight clipping as a
projection.

Every node holds every registered optimiser's fields (`defaults()`, read off the builders'
signatures), so that any of them can be set on any variant; the chosen optimiser reads its own."""

from __future__ import annotations

import inspect

import jax
import jax.numpy as jnp
import optax

from jaxgan import registry
from jaxgan.variant_files import load_variant_config

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


def _rmsprop(lr, decay=0.99, clip=0.0, weight_decay=0.0):
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
DEFAULT = "adam"  # the optimiser of a node without `name` (as before optimisers had names)


def _reads(name: str) -> dict[str, inspect.Parameter]:
    """The fields optimiser `name` reads: its builder's parameters."""
    return dict(inspect.signature(OPTIMIZERS[name]).parameters)


def defaults() -> dict:
    """`name` and every registered optimiser's optional fields at their builder's default: what a
    config node holds besides `lr`, so that any field can be set on any variant."""
    out = {"name": DEFAULT}
    for name in OPTIMIZERS:
        out |= {f: p.default for f, p in _reads(name).items() if p.default is not p.empty}
    return out


def settings(name: str, *args, **kwargs) -> dict:
    """A config node: the arguments of `OPTIMIZERS[name](*args, **kwargs)` (a bad one raises
    TypeError), every other registered field at its default."""
    bound = inspect.signature(OPTIMIZERS[name]).bind(*args, **kwargs)
    return {**defaults(), "name": name, **bound.arguments}


def clip_params(c: float) -> optax.GradientTransformation:
    """Turns the update into one that leaves every parameter in [−c, c] (WGAN's clipping, biases
    included, applied after the optimiser's step)."""

    def update(updates, state, params):
        new = jax.tree.map(lambda p, u: jnp.clip(p + u, -c, c) - p, params, updates)
        return new, state

    return optax.GradientTransformation(lambda params: optax.EmptyState(), update)


def optimizer(
    name: str, fields, scales: dict[int, float] | None = None, variant=None
) -> optax.GradientTransformation:
    """The transform of `config.optim.<name>`; a bad field is one line naming it.

    The chosen optimiser gets the fields it reads; another field away from both its default and
    `variant`'s value (the variant's own node) is refused, as it would do nothing. `scales`
    ({update count: factor}, from `decay_scales`) multiplies the rate from those updates on.
    """
    fields = dict(fields.to_dict() if hasattr(fields, "to_dict") else fields)
    fields.setdefault("name", DEFAULT)
    for field, value in fields.items():
        if field in _CHECKS and not _CHECKS[field][0](value):
            raise ValueError(f"optim.{name}.{field}={value!r}: must be {_CHECKS[field][1]}")
    if fields["name"] in OPTIMIZERS:  # else registry.build names the valid ones
        fields = _read_fields(name, fields, dict(variant or {}))
    if scales and "lr" in fields:  # none: a constant rate, and no schedule count in the state
        fields["lr"] = optax.piecewise_constant_schedule(fields["lr"], scales)
    return registry.build(f"optim.{name}", OPTIMIZERS, fields)


def _read_fields(net: str, fields: dict, variant: dict) -> dict:
    """`fields` less the registered ones its optimiser does not read (an unknown field stays, for
    registry.build to name); one of those set away from its default and the variant's value
    raises ValueError."""
    chosen, unread = fields["name"], defaults()
    out = {}
    for field, value in fields.items():
        if field == "name" or field in _reads(chosen) or field not in unread:
            out[field] = value
        elif value not in (unread[field], variant.get(field, unread[field])):
            readers = ", ".join(n for n in OPTIMIZERS if field in _reads(n))
            raise ValueError(f"optim.{net}.{field}={value!r}: read by {readers} only, but "
                             f"optim.{net}.name is {chosen!r}")
    return out


def optimizers(config, num_images: int, names=("g", "d", "prior")) -> dict:
    """An optimiser for each trained network `name`, from `config.optim.<name>`, every rate
    decayed as `decay_scales` says."""
    optim = config.optim
    scales = decay_scales(config, num_images)
    variant = _variant_nodes(config)
    out = {}
    for name in names:
        if name not in optim:
            raise ValueError(f"optim.{name}: missing; this variant trains {', '.join(names)}")
        out[name] = optimizer(name, optim[name], scales["d" if name == "d" else "g"],
                              variant.get(name))
    return out


def decay_scales(config, num_images: int) -> dict[str, dict[int, float]]:
    """D's and G's {update count: factor}: every rate is multiplied by `optim.lr_decay_factor` once
    each epoch of `optim.lr_decay_epochs` is done (the teams' WGAN-GP recipe).

    Each optimiser counts its own updates: D's rate drops from its update on the next epoch's
    first batch, G's (and the prior's and encoder's, stepped with G) from the first G step after
    the one that completes the epoch, as D makes `n_critic` updates per G step.
    """
    epochs, factor = _decay(config.optim)
    d = [e * (num_images // config.batch_size) for e in epochs]
    return {"d": _scales(d, factor), "g": _scales([-(-b // config.n_critic) for b in d], factor)}


def _scales(boundaries: list[int], factor: float) -> dict[int, float]:
    out = {}
    for b in boundaries:  # two epochs ending within one G step (n_critic > an epoch) compound
        out[b] = out.get(b, 1.0) * factor
    return out


def _decay(optim) -> tuple[tuple[int, ...], float]:
    """`optim`'s decay epochs and factor (`lr_halve_epoch` read as its alias); a value no schedule
    can take is one line naming the field."""
    optim = dict(optim.to_dict() if hasattr(optim, "to_dict") else optim)
    halve = optim.get("lr_halve_epoch", 0)
    epochs = optim.get("lr_decay_epochs", ())
    factor = optim.get("lr_decay_factor", 0.5)
    if type(halve) is not int or halve < 0:
        raise ValueError(f"optim.lr_halve_epoch={halve!r}: must be an integer >= 0 (0: constant)")
    ints = isinstance(epochs, (tuple, list)) and all(type(e) is int for e in epochs)
    if not ints or list(epochs) != sorted(set(epochs)) or min(epochs, default=1) < 1:
        raise ValueError(f"optim.lr_decay_epochs={epochs!r}: must be a tuple of increasing "
                         "epochs >= 1, e.g. (150,) or (100, 150); (): a constant rate")
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not factor > 0:
        raise ValueError(f"optim.lr_decay_factor={factor!r}: must be > 0")
    if halve and (epochs or factor != 0.5):
        raise ValueError(f"optim.lr_halve_epoch={halve}: an alias of optim.lr_decay_epochs="
                         f"({halve},) at factor 0.5, but optim.lr_decay_epochs={tuple(epochs)!r} "
                         f"and optim.lr_decay_factor={factor!r} are set too; set lr_decay_epochs "
                         "only")
    optim = schedule_alias(optim)
    return tuple(optim.get("lr_decay_epochs", ())), optim.get("lr_decay_factor", 0.5)


def _variant_nodes(config) -> dict:
    """`config.optim` as its variant's configs/ file sets it: the values an optimiser's unread
    fields keep when only `name` is changed (none for a variant configs/ lacks)."""
    try:
        return load_variant_config(config.get("variant", "vanilla")).optim.to_dict()
    except ValueError:
        return {}


def schedule_alias(optim: dict) -> dict:
    """An optim node with `lr_halve_epoch` = E written as the schedule it stands for,
    `lr_decay_epochs` (E,) at factor 0.5, so that either spelling compares equal.

    A node saved before `lr_decay_epochs` existed had `lr_halve_epoch` as its whole schedule
    (0: constant), whatever its variant's default is today. A node setting both is left as it is,
    for `jaxgan.optim` to refuse.
    """
    halve = optim.get("lr_halve_epoch", 0)
    if "lr_decay_epochs" in optim:
        alias = halve and not optim["lr_decay_epochs"] and optim.get("lr_decay_factor", 0.5) == 0.5
    else:
        alias = "lr_halve_epoch" in optim
    if not alias or type(halve) is not int or halve < 0:
        return optim
    epochs = (halve,) if halve else ()
    return {**optim, "lr_halve_epoch": 0, "lr_decay_epochs": epochs, "lr_decay_factor": 0.5}
