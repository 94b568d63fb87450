"""Matmul FLOPs of one training step of the template networks, counted analytically from the dense
layers (2·rows·in·out per matmul: the forward, the weight gradients and the input gradients each
count one matmul, and only the gradients a step needs), and XLA's own count of a compiled step."""

from __future__ import annotations

from collections.abc import Sequence

import jax

from jaxgan.models import D_HIDDEN, G_HIDDEN, IMAGE_DIM

FORMS = ("jaxgan", "torch_template", "torch_detached")


def _layers(widths: Sequence[int]) -> list[tuple[int, int]]:
    return list(zip(widths[:-1], widths[1:], strict=True))


def g_layers(latent_dim: int = 100) -> list[tuple[int, int]]:
    return _layers((latent_dim, *G_HIDDEN, IMAGE_DIM))


def d_layers() -> list[tuple[int, int]]:
    return _layers((IMAGE_DIM, *D_HIDDEN, 1))


def _mlp_dots(layers, rows: int, weight_grads: bool, input_grads: bool, backward: bool = True):
    """The matmuls (m, k, n) of one pass of `rows` rows through the MLP `layers`.

    The forward is (rows×in)·(in×out) per layer; a backward pass adds each layer's weight
    gradient xᵀ·dy (in×rows)·(rows×out) if `weight_grads`, and each layer's input gradient
    dy·Wᵀ (rows×out)·(out×in), which every layer but the first needs to pass the gradient down,
    and the first only if `input_grads` (the gradient reaches the net's input, e.g. D's input
    when G is trained through it).
    """
    dots = [(rows, i, o) for i, o in layers]
    if backward:
        if weight_grads:
            dots += [(i, rows, o) for i, o in layers]
        dots += [(rows, o, i) for n, (i, o) in enumerate(layers) if n > 0 or input_grads]
    return dots


def step_dots(batch_size: int, form: str = "jaxgan", latent_dim: int = 100):
    """The matmuls (m, k, n) of one training step (one D step, one G step) at `batch_size`.

    - "jaxgan": D step: G forward on z (stop_gradient), D forward and backward on the concatenated
      [real; fake] (2B rows; weight grads, no input grad at layer 1). G step: G forward and
      backward (weight grads, no grad w.r.t. z), D forward and backward for the input gradient
      only (D's parameters are constants there).
    - "torch_detached": as jaxgan (real and fake in two D calls of B rows), but the G step's
      backward also computes D's weight gradients (D's parameters require grad; they are zeroed
      by the next `D.zero_grad()`).
    - "torch_template": as torch_detached, and the D loss back-propagates through G: D's input
      gradient for the fakes, G's weight gradients and its input gradients below layer 1.
    """
    g, d, b = g_layers(latent_dim), d_layers(), batch_size
    if form == "jaxgan":
        d_step = _mlp_dots(g, b, False, False, backward=False) + _mlp_dots(d, 2 * b, True, False)
        g_step = _mlp_dots(g, b, True, False) + _mlp_dots(d, b, False, True)
    elif form in ("torch_template", "torch_detached"):
        template = form == "torch_template"
        d_step = (
            _mlp_dots(d, b, True, False)  # real
            + _mlp_dots(g, b, template, False, backward=template)
            + _mlp_dots(d, b, True, template)  # fake
        )
        g_step = _mlp_dots(g, b, True, False) + _mlp_dots(d, b, True, True)
    else:
        raise ValueError(f"unknown form {form!r}; valid: {', '.join(FORMS)}")
    return d_step + g_step


def step_flops(batch_size: int, form: str = "jaxgan", latent_dim: int = 100) -> int:
    """Matmul FLOPs of one training step: 2·m·k·n summed over `step_dots` (no bias, no
    element-wise work)."""
    return sum(2 * m * k * n for m, k, n in step_dots(batch_size, form, latent_dim))


def xla_step_flops(trainer, state, data) -> float | None:
    """XLA's `cost_analysis` FLOPs of one jaxgan step, on the lowered program: no second compile,
    and within 0.1% of the compiled program's count (None if the backend has none)."""
    key = jax.random.PRNGKey(0)
    try:
        analysis = jax.jit(trainer.step).lower(state, data, key).cost_analysis()
    except Exception:  # noqa: BLE001 - a missing analysis must not stop the benchmark
        return None
    if isinstance(analysis, (list, tuple)):
        analysis = analysis[0] if analysis else None
    if not analysis or "flops" not in analysis:
        return None
    return float(analysis["flops"])
