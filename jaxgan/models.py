"""The course's fixed MLP G and D, the SAN discriminator, a convolutional D and an encoder, in Flax.

Every layer is initialised as PyTorch's `nn.Linear` or `nn.Conv2d` (weights and biases
U(±1/√fan_in)), so a jaxgan network starts from the same distribution as the course template.
Discriminators return a dict of outputs (`"logit"` for one output, `"logits"` for several) and
objectives pick the entries they need, so one train step serves all. Widths default to the
course's and come from `config.nets`.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgan import pixels

G_HIDDEN = (256, 512, 1024)
D_HIDDEN = (1024, 512, 256)
D_CHANNELS = (64, 128)
IMAGE_SHAPE = (*pixels.IMAGE_SHAPE, 1)  # NHWC, for the conv D
IMAGE_DIM = pixels.IMAGE_DIM
MAX_CONV_LAYERS = 4  # 4×4 stride-2 convolutions with padding 1 take 28 to 14, 7, 3, then 1


def _torch_uniform(fan_in: int):
    bound = 1.0 / jnp.sqrt(fan_in)

    def init(key, shape, dtype=jnp.float32):
        return jax.random.uniform(key, shape, dtype, -bound, bound)

    return init


def matmul(a, b):
    """`a @ b` in float32 on every backend: a GPU's default would round the inputs to TF32 and
    change the numbers a CPU gives."""
    return jnp.matmul(a, b, precision=jax.lax.Precision.HIGHEST)


class TorchDense(nn.Module):
    """Dense layer with PyTorch `nn.Linear` initialisation (bias bound depends on fan_in)."""

    features: int
    use_bias: bool = True

    @nn.compact
    def __call__(self, x):
        fan_in = x.shape[-1]
        kernel = self.param("kernel", _torch_uniform(fan_in), (fan_in, self.features))
        y = matmul(x, kernel)
        if self.use_bias:
            y = y + self.param("bias", _torch_uniform(fan_in), (self.features,))
        return y


def _patches(x, kernel: int, stride: int, padding: int):
    """(B, H, W, C) -> (B, Ho, Wo, kernel·kernel·C): each output position's input window, in
    (row, column, channel) order, from `kernel`² strided slices of the padded input."""
    _, h, w, _ = x.shape
    x = jnp.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    out_h = (h + 2 * padding - kernel) // stride + 1
    out_w = (w + 2 * padding - kernel) // stride + 1
    if out_h < 1 or out_w < 1:
        raise ValueError(f"a {kernel}x{kernel} window (padding {padding}) does not fit a {h}x{w} "
                         "input: use fewer conv D layers (nets.d_channels) for images this small")
    return jnp.concatenate(
        [x[:, i : i + stride * (out_h - 1) + 1 : stride, j : j + stride * (out_w - 1) + 1 : stride]
         for i in range(kernel) for j in range(kernel)],
        axis=-1,
    )


class TorchConv(nn.Module):
    """4×4 stride-2 convolution (NHWC, padding 1) with PyTorch `nn.Conv2d` initialisation:
    weights and bias U(±1/√fan_in), fan_in = in_channels·kh·kw.

    Computed as one matrix product of the input's windows (im2col), so that its gradients are
    matrix products and slices too: inside the jitted train step, XLA's CPU backend lowers the
    weight gradient of `lax.conv_general_dilated` to a slow generic loop (`vanilla` with the conv D
    on a 2-core AMD EPYC: 1.15 steps/s that way, 11.66 this way; BENCHMARKS.md, "20 epochs").
    """

    features: int
    kernel: int = 4
    stride: int = 2
    padding: int = 1

    @nn.compact
    def __call__(self, x):
        in_channels = x.shape[-1]
        init = _torch_uniform(in_channels * self.kernel**2)
        shape = (self.kernel, self.kernel, in_channels, self.features)
        kernel = self.param("kernel", init, shape).reshape(-1, self.features)
        y = matmul(_patches(x, self.kernel, self.stride, self.padding), kernel)
        return y + self.param("bias", init, (self.features,))


def _mlp(x, widths):
    for width in widths:
        x = nn.leaky_relu(TorchDense(width)(x), 0.2)
    return x


class Generator(nn.Module):
    """z (B, latent_dim) -> (B, out_dim) in [-s, s]: hidden LeakyReLU(0.2) layers, s·tanh
    (s = `out_scale`, 1 for images; larger for the 2-D toys, whose modes lie beyond ±1)."""

    hidden: tuple[int, ...] = G_HIDDEN
    out_dim: int = IMAGE_DIM
    out_scale: float = 1.0

    @nn.compact
    def __call__(self, z):
        out = jnp.tanh(TorchDense(self.out_dim)(_mlp(z, self.hidden)))
        return out if self.out_scale == 1.0 else self.out_scale * out


HEADS = ("dense", "san")  # D's last layer, as the objective declares it (`Objective.d_head`)


class Discriminator(nn.Module):
    """The course's MLP D, LeakyReLU(0.2), and its last hidden layer's `"features"` (feature
    matching). Head "dense": {"logit": (B,)} (one output) or {"logits": (B, num_outputs)};
    head "san": SAN's last layer f(x) = <w/|w|, |w| h(x)> (simple-san form, no bias), whose
    `"logit"` serves G and the samplers and whose `"fun"` = <sg(ω), h̃> and `"dir"` = <ω, sg(h̃)>
    train the trunk and |w|, and the direction alone; `w` starts like the template's last
    `nn.Linear` weight, so the initial logits match the dense head's."""

    hidden: tuple[int, ...] = D_HIDDEN
    num_outputs: int = 1
    head: str = "dense"

    @nn.compact
    def __call__(self, x):
        if self.head == "san":
            return _san_head(self, _mlp(x, self.hidden))
        dense = TorchDense(self.num_outputs)  # built first: its name stays TorchDense_0
        h = _mlp(x, self.hidden)
        return _outputs(dense(h), h)


def _outputs(out, h) -> dict:
    """A dense head's (B, K) output and its input h as D's dict of outputs."""
    head = {"logit": out[:, 0]} if out.shape[-1] == 1 else {"logits": out}
    return head | {"features": h}


def _san_head(module: nn.Module, h) -> dict:
    """SAN's last layer on features h, as `module`'s parameter `"w"` (`Discriminator`, head
    "san")."""
    w = module.param("w", _torch_uniform(h.shape[-1]), (h.shape[-1],))
    scale = jnp.linalg.norm(w)
    direction = w / scale
    h_tilde = h * scale
    return {
        "features": h,
        "logit": matmul(h_tilde, direction),
        "fun": matmul(h_tilde, jax.lax.stop_gradient(direction)),
        "dir": matmul(jax.lax.stop_gradient(h_tilde), direction),
    }


class ConvDiscriminator(nn.Module):
    """A DCGAN-style D for 28×28 images with the outputs of `Discriminator` for the same `head`.

    x (B, 784 + extra) stays flat, so that every caller of D (losses, penalties, samplers) is
    unchanged: its first 784 features, as a 28×28 image, go through `TorchConv` layers of
    `channels` (LeakyReLU(0.2), no normalisation, so that each sample's output depends on that
    sample alone, as the gradient penalty and R1 assume); the flattened maps with the extra inputs
    appended (y, for a D on [x | y]) are `"features"` and feed one dense (or SAN) layer.
    """

    channels: tuple[int, ...] = D_CHANNELS
    num_outputs: int = 1
    head: str = "dense"

    @nn.compact
    def __call__(self, x):
        h = x[:, :IMAGE_DIM].reshape(-1, *IMAGE_SHAPE)
        for width in self.channels:
            h = nn.leaky_relu(TorchConv(width)(h), 0.2)
        h = jnp.concatenate([h.reshape(h.shape[0], -1), x[:, IMAGE_DIM:]], axis=1)
        if self.head == "san":
            return _san_head(self, h)
        return _outputs(TorchDense(self.num_outputs)(h), h)


class Encoder(nn.Module):
    """x (B, in) -> {"noise": (B, noise_dim), "logits": (B, num_classes)}: an MLP mirroring D.

    ClusterGAN's E (ẑ_n linear, ẑ_c = softmax of the logits) and MMGAN's clustering net
    (noise_dim = 0).
    """

    hidden: tuple[int, ...] = D_HIDDEN
    noise_dim: int = 0
    num_classes: int = 10

    @nn.compact
    def __call__(self, x):
        out = TorchDense(self.noise_dim + self.num_classes)(_mlp(x, self.hidden))
        return {"noise": out[:, : self.noise_dim], "logits": out[:, self.noise_dim :]}


def check_widths(nets) -> None:
    """`config.nets` must hold tuples of positive widths; one line naming the field otherwise."""
    for name, widths in nets.items():
        if name == "g_out_scale":
            if not (isinstance(widths, (int, float)) and widths > 0):
                raise ValueError(f"nets.g_out_scale={widths!r}: must be > 0")
            continue
        ok = isinstance(widths, (tuple, list)) and all(
            isinstance(w, int) and w >= 1 for w in widths
        )
        if not ok:
            raise ValueError(f"nets.{name}={widths!r}: must be a tuple of widths >= 1")
