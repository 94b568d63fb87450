"""The pure train step: `n_critic` D updates, then one G update, for every variant.

Batches (samples and labels) are gathered on the device from the training set and a per-epoch
permutation held in the state, so the host never feeds data. `d_update` and `g_update` are pure
module-level functions of the parameters; G's objective gets D's update on its own batch and
fakes as `Context.d_step` (the unrolled GAN scans it inside G's loss). With `ema_decay` > 0 each
G update is followed by one of G's moving average (`jaxgan.state.EMA`). `make_multi_step` scans
`k` steps per dispatch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from jaxgan.objectives import Context
from jaxgan.pixels import to_inputs
from jaxgan.state import EMA, TrainState, ema_update
from jaxgan.variants import Model


class Batch(NamedTuple):
    x: jax.Array  # (B, D) float32
    y: jax.Array  # (B,) int32


def _identity(x):
    return x


def d_update(
    model: Model,
    opt: optax.GradientTransformation,
    params: dict,
    opt_state: Any,
    batch: Batch,
    key: jax.Array,
    frozen: Any = None,
    shard: Callable = _identity,
):
    """One D step on `batch` and fresh fakes: `(d params, d optimiser state, metrics)`."""
    k_z, k_loss = jax.random.split(key)
    z, aux = model.prior.sample(params["prior"], k_z, batch.x.shape[0])
    z = shard(z)
    fake = jax.lax.stop_gradient(model.nets["g"].apply(params["g"], z))
    return d_update_on(model, opt, params, opt_state, batch, fake, z, aux, k_loss, frozen)


def d_update_on(model, opt, params, opt_state, batch, fake, z, aux, key, frozen=None):
    """One D step on given fakes; differentiable in them (and so in G) when they are not
    constants, which is what the unrolled GAN's G loss needs."""

    def loss_fn(d_params):
        ctx = Context(params | {"d": d_params}, model.apply, batch.x, batch.y, fake, z, aux,
                      key, frozen)
        return model.objective.d_loss(ctx)

    (loss, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(params["d"])
    updates, opt_state = opt.update(grads, opt_state, params["d"])
    metrics = {"d_loss": loss, **metrics, "d_grad_norm": optax.tree.norm(grads)}
    return optax.apply_updates(params["d"], updates), opt_state, metrics


def g_update(
    model: Model,
    opt: dict,
    params: dict,
    opt_state: dict,
    batch: Batch,
    key: jax.Array,
    frozen: Any = None,
    shard: Callable = _identity,
):
    """One step of G's objective on the networks it trains (`model.g_trains`):
    `(params, optimiser states, metrics)` with those entries updated."""
    names = model.g_trains

    def loss_fn(trained):
        p = params | trained
        z, aux = model.prior.sample(p["prior"], key, batch.x.shape[0])
        z = shard(z)
        fake = model.nets["g"].apply(p["g"], z)

        def d_step(d_params, d_opt_state, k):  # for objectives that look ahead (unrolled)
            d_params, d_opt_state, _ = d_update_on(
                model, opt["d"], p | {"d": d_params}, d_opt_state, batch, fake, z, aux, k, frozen
            )
            return d_params, d_opt_state

        ctx = Context(p, model.apply, batch.x, batch.y, fake, z, aux, jax.random.fold_in(key, 1),
                      frozen, d_step, opt_state["d"])
        return model.objective.g_loss(ctx)

    (loss, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(
        {n: params[n] for n in names}
    )
    params, opt_state = dict(params), dict(opt_state)
    for n in names:
        updates, opt_state[n] = opt[n].update(grads[n], opt_state[n], params[n])
        params[n] = optax.apply_updates(params[n], updates)
    metrics = {"g_loss": loss, **metrics, "g_grad_norm": optax.tree.norm(grads["g"])}
    return params, opt_state, metrics


def make_step(model: Model, opt: dict, batch_size: int, n_critic: int, mesh: Mesh,
              ema_decay: float = 0.0) -> Callable:
    """Returns `step(state, data, key, frozen=None) -> (state, metrics)` (pure).

    `data` is `{"x": (N, D) uint8 or float, "y": (N,) int32}`. The D updates see fakes as
    constants; G's update differentiates its objective with respect to every network it trains
    (z is drawn inside it, so a trainable prior learns through the reparameterised sample). G's
    objective sees the real batch of the last D update. `ema_decay` d > 0: after G's update,
    `params[EMA]` ← d·`params[EMA]` + (1 − d)·`params["g"]` (0: no EMA in the state or the step).
    """
    batch_sharding = NamedSharding(mesh, P("data"))

    def shard(x):
        return jax.lax.with_sharding_constraint(x, batch_sharding)

    def real_batch(state, data, index):
        n = data["x"].shape[0]
        batches_per_epoch = n // batch_size
        epoch, pos = index // batches_per_epoch, index % batches_per_epoch
        perm = jax.lax.cond(
            pos == 0,
            lambda: jax.random.permutation(jax.random.fold_in(state.data_key, epoch), n),
            lambda: state.perm,
        )
        idx = jax.lax.dynamic_slice_in_dim(perm, pos * batch_size, batch_size)
        x = shard(to_inputs(jnp.take(data["x"], idx, axis=0)))
        return perm, Batch(x, shard(jnp.take(data["y"], idx, axis=0)))

    def step(state: TrainState, data, key, frozen=None):
        keys = jax.random.split(key, n_critic + 1)

        def critic(state, j):
            perm, batch = real_batch(state, data, state.step * n_critic + j)
            d_params, d_opt, metrics = d_update(
                model, opt["d"], state.params, state.opt_state["d"], batch, keys[j], frozen, shard
            )
            state = state.replace(
                params=state.params | {"d": d_params},
                opt_state=state.opt_state | {"d": d_opt},
                perm=perm,
            )
            return state, metrics

        state, d_metrics = jax.lax.scan(critic, state, jnp.arange(n_critic))
        _, batch = real_batch(state, data, state.step * n_critic + n_critic - 1)
        params, opt_state, g_metrics = g_update(
            model, opt, state.params, state.opt_state, batch, keys[n_critic], frozen, shard
        )
        if ema_decay:
            params = params | {EMA: ema_update(params[EMA], params["g"], ema_decay)}
        metrics = {k: v[-1] for k, v in d_metrics.items()} | g_metrics
        return state.replace(step=state.step + 1, params=params, opt_state=opt_state), metrics

    return step


def make_multi_step(step: Callable, num_steps: int) -> Callable:
    """`(state, data, frozen=None) -> (state, metrics stacked over num_steps)`; keys are
    fold_in(state.key, step)."""

    def multi_step(state, data, frozen=None):
        def body(state, _):
            return step(state, data, jax.random.fold_in(state.key, state.step), frozen)

        return jax.lax.scan(body, state, None, length=num_steps)

    return multi_step
