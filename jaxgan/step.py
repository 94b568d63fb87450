"""The pure train step: `n_critic` D updates, then one G update, for every variant.

Batches are gathered on the device from the uint8 training set and a per-epoch permutation held in
the state, so the host never feeds data. `make_multi_step` scans `k` steps per dispatch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from jaxgan.state import TrainState
from jaxgan.variants import Components


def to_pixels(images_u8):
    """uint8 (B, 784) -> float32 in [-1, 1], as the template's Normalize(0.5, 0.5)."""
    return images_u8.astype(jnp.float32) / 127.5 - 1.0


class Optimizers(NamedTuple):
    g: optax.GradientTransformation
    d: optax.GradientTransformation
    prior: optax.GradientTransformation


def make_step(
    components: Components,
    opt: Optimizers,
    batch_size: int,
    n_critic: int,
    mesh: Mesh,
) -> Callable:
    """Returns `step(state, data, key) -> (state, metrics)` (pure; data is (N, 784) uint8).

    The D update sees fakes as constants; the G update differentiates G's loss with respect to
    G's parameters and the prior's (z is drawn inside it), so a trainable prior learns through
    the reparameterised sample and a fixed prior (empty params) costs nothing.
    """
    prior, gen, disc = components.prior, components.generator, components.discriminator
    batch_sharding = NamedSharding(mesh, P("data"))

    def shard(x):
        return jax.lax.with_sharding_constraint(x, batch_sharding)

    def real_batch(state, data, index):
        batches_per_epoch = data.shape[0] // batch_size
        epoch, pos = index // batches_per_epoch, index % batches_per_epoch
        perm = jax.lax.cond(
            pos == 0,
            lambda: jax.random.permutation(
                jax.random.fold_in(state.data_key, epoch), data.shape[0]
            ),
            lambda: state.perm,
        )
        idx = jax.lax.dynamic_slice_in_dim(perm, pos * batch_size, batch_size)
        return perm, shard(to_pixels(jnp.take(data, idx, axis=0)))

    def latents(prior_params, key):
        z, _ = prior.sample(prior_params, key, batch_size)
        return shard(z)

    def d_update(state, data, index, key):
        k_z, k_reg = jax.random.split(key)
        perm, real = real_batch(state, data, index)
        fake = jax.lax.stop_gradient(gen.apply(state.g_params, latents(state.prior_params, k_z)))

        def loss_fn(d_params):
            out = disc.apply(d_params, jnp.concatenate([real, fake]))
            real_out = jax.tree.map(lambda o: o[:batch_size], out)
            fake_out = jax.tree.map(lambda o: o[batch_size:], out)
            loss = components.d_loss(real_out, fake_out)
            logit = lambda x: disc.apply(d_params, x)["logit"]  # noqa: E731
            reg_keys = jax.random.split(k_reg, max(len(components.regularizers), 1))
            for (weight, reg), k in zip(components.regularizers, reg_keys, strict=False):
                loss = loss + weight * reg(logit, real, fake, k)
            return loss, (jnp.mean(real_out["logit"]), jnp.mean(fake_out["logit"]))

        (loss, (real_logit, fake_logit)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            state.d_params
        )
        updates, d_opt_state = opt.d.update(grads, state.d_opt_state, state.d_params)
        state = state.replace(
            d_params=optax.apply_updates(state.d_params, updates),
            d_opt_state=d_opt_state,
            perm=perm,
        )
        metrics = {
            "d_loss": loss,
            "real_logit": real_logit,
            "fake_logit": fake_logit,
            "d_grad_norm": optax.tree.norm(grads),
        }
        return state, metrics

    def g_update(state, key):
        def loss_fn(g_params, prior_params):
            fake = gen.apply(g_params, latents(prior_params, key))
            return components.g_loss(disc.apply(state.d_params, fake))

        loss, (g_grads, prior_grads) = jax.value_and_grad(loss_fn, argnums=(0, 1))(
            state.g_params, state.prior_params
        )
        g_updates, g_opt_state = opt.g.update(g_grads, state.g_opt_state, state.g_params)
        prior_updates, prior_opt_state = opt.prior.update(
            prior_grads, state.prior_opt_state, state.prior_params
        )
        state = state.replace(
            g_params=optax.apply_updates(state.g_params, g_updates),
            g_opt_state=g_opt_state,
            prior_params=optax.apply_updates(state.prior_params, prior_updates),
            prior_opt_state=prior_opt_state,
        )
        return state, {"g_loss": loss, "g_grad_norm": optax.tree.norm(g_grads)}

    def step(state: TrainState, data, key):
        d_keys = jax.random.split(key, n_critic + 1)

        def critic(state, j):
            return d_update(state, data, state.step * n_critic + j, d_keys[j])

        state, d_metrics = jax.lax.scan(critic, state, jnp.arange(n_critic))
        state, g_metrics = g_update(state, d_keys[n_critic])
        metrics = {k: v[-1] for k, v in d_metrics.items()} | g_metrics
        return state.replace(step=state.step + 1), metrics

    return step


def make_multi_step(step: Callable, num_steps: int) -> Callable:
    """`(state, data) -> (state, metrics stacked over num_steps)`; keys fold_in(state.key, step)."""

    def multi_step(state, data):
        def body(state, _):
            return step(state, data, jax.random.fold_in(state.key, state.step))

        return jax.lax.scan(body, state, None, length=num_steps)

    return multi_step
