"""Sample grids (PNG via Pillow) and loss curves (matplotlib)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from jaxgan import metrics_log
from jaxgan.pixels import IMAGE_SHAPE


def save_grid(images_u8: np.ndarray, path: str | Path, nrow: int | None = None, pad: int = 2):
    """Tiles uint8 (N, 28, 28) digits into one PNG with `pad` pixels of black between them."""
    images = np.asarray(images_u8).reshape(len(images_u8), *IMAGE_SHAPE)
    n = len(images)
    nrow = nrow or math.ceil(math.sqrt(n))
    ncol = math.ceil(n / nrow)
    (height, width), h, w = IMAGE_SHAPE, IMAGE_SHAPE[0] + pad, IMAGE_SHAPE[1] + pad
    grid = np.zeros((ncol * h + pad, nrow * w + pad), np.uint8)
    for i, img in enumerate(images):
        r, c = divmod(i, nrow)
        grid[pad + r * h : pad + r * h + height, pad + c * w : pad + c * w + width] = img
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid).save(path)


def subplots(*grid, figsize: tuple[float, float], **kwargs):
    """(figure, axes) of `Figure.subplots(*grid, **kwargs)`: matplotlib's object API, which needs
    no backend and keeps no global figure to close."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(*grid, **kwargs)


def save_figure(fig: Figure, path: str | Path, dpi: int = 100) -> Path:
    """Lays `fig` out tightly and writes it to `path` (its folder made as needed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    return path


def plot_losses(metrics_path: str | Path, out_path: str | Path) -> None:
    """Plots D and G losses (and mean logits) against the step from `metrics.jsonl`, one curve
    per population member."""
    rows = [r for r in metrics_log.read_rows(metrics_path, warn_torn=False) if not r.get("eval")]
    if not rows:
        return
    members = _members(rows)
    fig, (ax1, ax2) = subplots(1, 2, figsize=(11, 4))
    for m in members:
        mine = [r for r in rows if r.get("member") == m]
        steps, who = [r["step"] for r in mine], "" if m is None else f" (member {m})"
        for ax, keys in ((ax1, ("d_loss", "g_loss")), (ax2, ("real_logit", "fake_logit"))):
            for key in keys:
                if key in mine[0]:
                    ax.plot(steps, [r[key] for r in mine], label=key + who, lw=0.8)
    ax1.set(xlabel="step", title="losses")
    ax2.set(xlabel="step", title="mean D output")
    ax1.legend()
    ax2.legend()
    save_figure(fig, out_path)


def _members(rows: list[dict]) -> list:
    return sorted({r.get("member") for r in rows}, key=lambda m: -1 if m is None else m)


def plot_quality(metrics_path: str | Path, out_path: str | Path) -> None:
    """Plots the in-loop evaluation rows of `metrics.jsonl` (the `"eval"` ones) against the
    epoch, a panel per metric and a curve per population member; nothing when there are none."""
    rows = [r for r in metrics_log.read_rows(metrics_path, warn_torn=False) if r.get("eval")]
    if not rows:
        return
    names = [k for k in rows[0] if k not in ("step", "epoch", "eval", "member")]
    cols = min(4, len(names))
    nrows = math.ceil(len(names) / cols)
    fig, axes = subplots(nrows, cols, figsize=(3.2 * cols, 2.8 * nrows), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        for m in _members(rows):
            mine = [r for r in rows if r.get("member") == m and name in r]
            ax.plot([r["epoch"] for r in mine], [r[name] for r in mine], marker=".", lw=0.8,
                    label="" if m is None else f"member {m}")
        ax.set(xlabel="epoch", title=name)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    if rows[0].get("member") is not None:
        axes.flat[0].legend(fontsize=7)
    save_figure(fig, out_path)


def scatter_modes(points, centres, path: str | Path, title: str = "", max_points: int = 5000):
    """A scatter plot of 2-D samples (the first `max_points`) over the toy's mode centres."""
    points, centres = np.asarray(points)[:max_points], np.asarray(centres)
    fig, ax = subplots(figsize=(5, 5))
    ax.scatter(points[:, 0], points[:, 1], s=2, alpha=0.4, label=f"{len(points)} samples")
    ax.scatter(centres[:, 0], centres[:, 1], s=40, marker="x", c="red", label="modes")
    ax.set(title=title, aspect="equal")
    ax.legend(loc="upper right", fontsize=8)
    save_figure(fig, path)
