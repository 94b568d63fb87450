"""The objective interface: what D and G (with the networks G's loss trains) minimise.

An objective is `d_loss(ctx)` and `g_loss(ctx)`, each returning `(loss, metrics)`, over one
`Context`: the parameters of every network (the one being differentiated included), the real batch
with its labels, the fakes with the z and the prior's `aux` that made them, a key, and the frozen
networks. It also says what networks it needs: D's outputs, an encoder, D's extra inputs, frozen
feature networks. Penalties are loss terms composed into `d_loss`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax


class Context(NamedTuple):
    params: dict  # network name -> params
    apply: dict  # network name -> fn(params, x)
    real: jax.Array  # (B, D) in the networks' input range
    labels: jax.Array  # (B,) int32: the real samples' classes (MNIST digits, toy modes)
    fake: jax.Array  # (B, D) = G(z)
    z: jax.Array
    aux: dict  # from the prior's sample: "label", ...
    key: jax.Array
    frozen: Any = None  # networks the step is given, not trained or checkpointed
    # G's context only: one differentiable D update `(d params, d opt state, key) -> (d params,
    # d opt state)` on this batch and these fakes, and D's optimiser state (the unrolled GAN)
    d_step: Callable | None = None
    d_opt_state: Any = None

    def net(self, name: str, x):
        return self.apply[name](self.params[name], x)


class Objective(NamedTuple):
    d_loss: Callable[[Context], tuple[jax.Array, dict]]
    g_loss: Callable[[Context], tuple[jax.Array, dict]]
    d_outputs: int = 1
    d_head: str = "dense"  # D's last layer: "dense" or SAN's "san" (`models.HEADS`)
    encoder: tuple[int, int] | None = None  # (noise_dim, num_classes) of E's outputs
    d_extra_inputs: int = 0  # D sees [x | y] with y this wide
    data_classes: int = 0  # > 0: D learns the real labels, which must be below this
    # D's outputs -> one score per sample, higher = more real (the samplers' d); None: no such
    # score (D judges pairs, not samples)
    realness: Callable[[dict], jax.Array] | None = lambda out: out["logit"]
    calibrated: bool = False  # realness estimates log p_data/p_g (a BCE-trained D)
    frozen: tuple[str, ...] = ()  # frozen networks the losses read (`jaxgan.frozen`)


def d_real_fake(ctx: Context, real=None, fake=None):
    """D's outputs on the real and fake batches, from one call on their concatenation."""
    real = ctx.real if real is None else real
    fake = ctx.fake if fake is None else fake
    out = ctx.net("d", jnp.concatenate([real, fake]))
    n = real.shape[0]
    return jax.tree.map(lambda o: o[:n], out), jax.tree.map(lambda o: o[n:], out)


def class_ce(logits, labels):
    """Mean softmax cross-entropy of integer labels."""
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, labels))


# ---------------------------------------------------------------- adversarial losses


def _positive(**values):
    for name, v in values.items():
        if v < 0:
            raise ValueError(f"objective.{name}={v!r}: must be >= 0")


def adversarial(d_fn, g_fn, penalties=()) -> Objective:
    """A loss pair of D's outputs (`jaxgan.losses`) plus `(weight, penalty)` terms on D's logit."""

    def d_loss(ctx):
        real_out, fake_out = d_real_fake(ctx)
        loss = d_fn(real_out, fake_out)
        logit = lambda x: ctx.net("d", x)["logit"]
        keys = jax.random.split(ctx.key, max(len(penalties), 1))
        for (weight, penalty), k in zip(penalties, keys, strict=False):
            loss = loss + weight * penalty(logit, ctx.real, ctx.fake, k)
        return loss, {
            "real_logit": jnp.mean(real_out["logit"]),
            "fake_logit": jnp.mean(fake_out["logit"]),
        }

    def g_loss(ctx):
        return g_fn(ctx.net("d", ctx.fake)), {}

    return Objective(d_loss, g_loss)
