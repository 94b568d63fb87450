"""The course template's GAN training step in PyTorch eager, as a speed reference for the benchmark.

Imported only by `benchmarks.throughput` when torch is installed (`pip install jaxgan[bench]`). The
networks and the step follow the public template (`AlexVerine/DataLabAssignement2`, `model.py`
and `utils.py`): `nn.Linear` MLPs with LeakyReLU(0.2), G ending in tanh and D in a sigmoid,
`nn.BCELoss`, Adam 2e-4 with betas (0.9, 0.999) for both nets, and per batch one D step then one
G step, each with a fresh z ~ N(0, I).

Two forms of the step are measured:

- `detach=False`, the template as written: the fakes of the D step are *not* detached, so
  `D_loss.backward()` also back-propagates through G (G's gradients are computed and later
  zeroed by `G.zero_grad()` at the start of the G step), and the G step's backward also fills
  D's gradients (zeroed by the next `D.zero_grad()`).
- `detach=True`: the same with `G(z).detach()` in the D step, the usual fix.

`compile=True` wraps G and D in `torch.compile` (inductor), the optimiser steps staying eager.

Both return the two losses with `.item()` each step, as the template's `D_train` / `G_train` do.

What differs from the template on purpose, to time the step and not the input pipeline: the whole
MNIST train split sits on the device as a float tensor already scaled to [-1, 1] (what the
template's `ToTensor` + `Normalize(0.5, 0.5)` produce), and each batch is gathered with a random
per-epoch permutation (no `DataLoader`, no host-to-device copy of the batch); z is drawn
directly on the device and the BCE targets are made there once. The last partial batch of an
epoch is dropped.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

LATENT_DIM = 100
IMAGE_DIM = 784  # jaxgan.pixels.IMAGE_DIM; this file runs without jaxgan
G_WIDTHS = (256, 512, 1024)
D_WIDTHS = (1024, 512, 256)


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _linears(widths) -> nn.ModuleList:
    pairs = zip(widths[:-1], widths[1:], strict=True)
    return nn.ModuleList(nn.Linear(a, b) for a, b in pairs)


class TemplateGenerator(nn.Module):
    """z (B, 100) -> (B, 784): Linear 256-512-1024 with LeakyReLU(0.2), Linear 784, tanh."""

    def __init__(self, latent_dim: int = LATENT_DIM):
        super().__init__()
        self.layers = _linears((latent_dim, *G_WIDTHS, IMAGE_DIM))

    def forward(self, z):
        h = z
        for layer in self.layers[:-1]:
            h = F.leaky_relu(layer(h), 0.2)
        return torch.tanh(self.layers[-1](h))


class TemplateDiscriminator(nn.Module):
    """x (B, 784) -> (B, 1) probabilities: Linear 1024-512-256 with LeakyReLU(0.2), Linear 1,
    sigmoid (the template's D; its output goes to `nn.BCELoss`)."""

    def __init__(self):
        super().__init__()
        self.layers = _linears((IMAGE_DIM, *D_WIDTHS, 1))

    def forward(self, x):
        h = x
        for layer in self.layers[:-1]:
            h = F.leaky_relu(layer(h), 0.2)
        return torch.sigmoid(self.layers[-1](h))


class TorchTemplateStep:
    """`run(n)` performs n template training steps (one D step then one G step each)."""

    def __init__(
        self,
        images_u8: np.ndarray,
        batch_size: int,
        detach: bool,
        device: torch.device | str | None = None,
        seed: int = 0,
        latent_dim: int = LATENT_DIM,
        compile: bool = False,
    ):
        self.device = torch.device(device) if device is not None else default_device()
        self.batch_size, self.detach, self.latent_dim = batch_size, detach, latent_dim
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(seed)
        torch.manual_seed(seed)
        flat = torch.from_numpy(np.array(images_u8, np.uint8).reshape(len(images_u8), -1))
        self.data = flat.to(self.device).float().div_(127.5).sub_(1.0)
        if len(self.data) < batch_size:
            raise ValueError(f"batch size {batch_size} exceeds the {len(self.data)} images")
        self.G = TemplateGenerator(latent_dim).to(self.device)
        self.D = TemplateDiscriminator().to(self.device)
        if compile:  # inductor; the optimiser steps stay eager
            self.G, self.D = torch.compile(self.G), torch.compile(self.D)
        self.G_optimizer = torch.optim.Adam(self.G.parameters(), lr=2e-4, betas=(0.9, 0.999))
        self.D_optimizer = torch.optim.Adam(self.D.parameters(), lr=2e-4, betas=(0.9, 0.999))
        self.criterion = nn.BCELoss()
        self.ones = torch.ones(batch_size, 1, device=self.device)
        self.zeros = torch.zeros(batch_size, 1, device=self.device)
        self._perm = None
        self._pos = 0

    def _next_batch(self) -> torch.Tensor:
        if self._perm is None or self._pos + self.batch_size > len(self._perm):
            self._perm = torch.randperm(len(self.data), device=self.device,
                                        generator=self.generator)
            self._pos = 0
        idx = self._perm[self._pos : self._pos + self.batch_size]
        self._pos += self.batch_size
        return self.data[idx]

    def _latents(self) -> torch.Tensor:
        return torch.randn(self.batch_size, self.latent_dim, device=self.device,
                           generator=self.generator)

    def d_train(self, x: torch.Tensor) -> float:
        self.D.zero_grad()
        d_real_loss = self.criterion(self.D(x), self.ones)
        x_fake = self.G(self._latents())
        if self.detach:
            x_fake = x_fake.detach()
        d_fake_loss = self.criterion(self.D(x_fake), self.zeros)
        d_loss = d_real_loss + d_fake_loss
        d_loss.backward()
        self.D_optimizer.step()
        return d_loss.item()

    def g_train(self) -> float:
        self.G.zero_grad()
        g_loss = self.criterion(self.D(self.G(self._latents())), self.ones)
        g_loss.backward()
        self.G_optimizer.step()
        return g_loss.item()

    def step(self) -> tuple[float, float]:
        x = self._next_batch()
        return self.d_train(x), self.g_train()

    def run(self, num_steps: int) -> None:
        for _ in range(num_steps):
            self.step()

    def synchronize(self) -> None:
        """Waits for queued device work (CUDA); a no-op on the CPU."""
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)


def describe_torch() -> dict:
    """Torch version, device and thread settings, for the benchmark report."""
    device = default_device()
    info = {
        "torch_version": torch.__version__,
        "torch_device": str(device),
        "torch_num_threads": torch.get_num_threads(),
        "torch_num_interop_threads": torch.get_num_interop_threads(),
    }
    if device.type == "cuda":
        info["torch_device_name"] = torch.cuda.get_device_name(device)
        info["torch_allow_tf32_matmul"] = bool(torch.backends.cuda.matmul.allow_tf32)
    return info
