"""Writes generated uint8 images as the course's PNG files and/or one `.npz`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from jaxgan import viz


def check_out(out: str | Path, num_samples: int, fmt: str = "png") -> None:
    """Refuses (ValueError) a PNG folder already holding numbered PNGs past `num_samples`: a folder
    reader (pytorch-fid, bin/evaluate.py) would mix them with the new ones."""
    out = Path(out)
    if fmt not in ("png", "both") or not out.is_dir():
        return
    stale = [p for p in out.glob("*.png") if p.stem.isdigit() and int(p.stem) >= num_samples]
    if stale:
        raise ValueError(
            f"{out} already holds {len(stale)} numbered PNGs beyond the {num_samples} to "
            "write (e.g. " + min(stale, key=lambda p: int(p.stem)).name + "); pass another "
            "--out or remove them"
        )


def write_samples(
    images_u8: np.ndarray,
    out: str | Path,
    fmt: str = "png",
    pixel_map: str = "half",
    progress: bool = True,
) -> None:
    """PNGs `0.png …` (28×28 RGB, three equal channels) and a `PIXEL_MAP` note, and/or
    `samples.npz`, plus a grid of the first 100 beside the folder (`<out>_grid.png`).

    The npz holds `images` (uint8 N×28×28) and `pixel_map`, so a file set says how it was made.
    PNGs overwrite those of the same names; a folder holding numbered PNGs past N is refused
    (`check_out`).
    """
    out = Path(out)
    check_out(out, len(images_u8), fmt)
    out.mkdir(parents=True, exist_ok=True)
    if fmt in ("png", "both"):
        for i, img in enumerate(tqdm(images_u8, desc="png", disable=not progress)):
            Image.fromarray(np.repeat(img[:, :, None], 3, axis=2)).save(out / f"{i}.png")
        (out / "PIXEL_MAP").write_text(pixel_map + "\n")
    if fmt in ("npz", "both"):
        np.savez_compressed(out / "samples.npz", images=images_u8, pixel_map=pixel_map)
    viz.save_grid(images_u8[:100], out.parent / f"{out.name}_grid.png")
