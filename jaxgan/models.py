"""The course's fixed MLP generator and discriminator, and the SAN discriminator, in Flax.

Every layer is initialised as PyTorch's `nn.Linear` (weights and biases U(±1/√fan_in)), so a jaxgan
network starts from the same distribution as the course template. Discriminators return a dict
of outputs; `"logit"` is always there, and losses pick the entries they need, so one train step
serves all.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

G_HIDDEN = (256, 512, 1024)
D_HIDDEN = (1024, 512, 256)
IMAGE_DIM = 784


def _torch_uniform(fan_in: int):
    bound = 1.0 / jnp.sqrt(fan_in)

    def init(key, shape, dtype=jnp.float32):
        return jax.random.uniform(key, shape, dtype, -bound, bound)

    return init


class TorchDense(nn.Module):
    """Dense layer with PyTorch `nn.Linear` initialisation (bias bound depends on fan_in)."""

    features: int
    use_bias: bool = True

    @nn.compact
    def __call__(self, x):
        fan_in = x.shape[-1]
        kernel = self.param("kernel", _torch_uniform(fan_in), (fan_in, self.features))
        y = x @ kernel
        if self.use_bias:
            y = y + self.param("bias", _torch_uniform(fan_in), (self.features,))
        return y


def _mlp(x, widths):
    for width in widths:
        x = nn.leaky_relu(TorchDense(width)(x), 0.2)
    return x


class Generator(nn.Module):
    """z (B, latent_dim) -> images (B, 784) in [-1, 1]: 256-512-1024 LeakyReLU(0.2), tanh."""

    @nn.compact
    def __call__(self, z):
        return jnp.tanh(TorchDense(IMAGE_DIM)(_mlp(z, G_HIDDEN)))


class Discriminator(nn.Module):
    """x (B, 784) -> {"logit": (B,)}: 1024-512-256 LeakyReLU(0.2), one linear logit."""

    @nn.compact
    def __call__(self, x):
        return {"logit": TorchDense(1)(_mlp(x, D_HIDDEN))[:, 0]}


class SANDiscriminator(nn.Module):
    """The same trunk h with SAN's last layer f(x) = <w/|w|, |w| h(x)> (simple-san form, no bias).

    Returns the full `"logit"` (for G and the samplers) and the two D-training outputs:
    `"fun"` = <sg(ω), h̃> trains the trunk and |w|; `"dir"` = <ω, sg(h̃)> trains only the direction.
    `w` starts like the template's last `nn.Linear` weight, so the initial logits match the plain D.
    """

    @nn.compact
    def __call__(self, x):
        h = _mlp(x, D_HIDDEN)
        w = self.param("w", _torch_uniform(h.shape[-1]), (h.shape[-1],))
        scale = jnp.linalg.norm(w)
        direction = w / scale
        h_tilde = h * scale
        return {
            "logit": h_tilde @ direction,
            "fun": h_tilde @ jax.lax.stop_gradient(direction),
            "dir": jax.lax.stop_gradient(h_tilde) @ direction,
        }
