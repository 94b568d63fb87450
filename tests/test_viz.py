"""Pixel maps, sample grids and the loss plot."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from jaxgan import pixels, viz

X = np.array([-1.0, -0.5, 0.0, 0.002, 0.5, 1.0, 1.5], np.float32)


def test_half_maps_minus_one_to_black_and_one_to_white():
    np.testing.assert_array_equal(pixels.to_uint8(X, "half"), [0, 64, 128, 128, 191, 255, 255])


def test_clamp_is_the_template_map_that_blacks_out_x_at_most_zero():
    np.testing.assert_array_equal(pixels.to_uint8(X, "clamp"), [0, 0, 0, 1, 128, 255, 255])


def test_unknown_pixel_map_lists_the_valid_ones():
    with pytest.raises(ValueError, match="valid: half, clamp"):
        pixels.to_uint8(X, "minmax")


def test_grid_tiles_images_with_black_padding(tmp_path):
    images = np.stack([np.full((28, 28), 10 * (i + 1), np.uint8) for i in range(5)])
    viz.save_grid(images, tmp_path / "g" / "grid.png", pad=2)
    grid = np.asarray(Image.open(tmp_path / "g" / "grid.png"))
    assert grid.shape == (2 * 30 + 2, 3 * 30 + 2)  # 3 per row, 2 rows
    assert grid[2, 2] == 10 and grid[2, 32] == 20 and grid[32, 32] == 50
    assert grid[32, 62] == 0 and grid[0].max() == 0  # the empty sixth cell and the top border


def test_plot_losses_writes_a_png(tmp_path):
    rows = [{"step": s, "d_loss": 1.0 / s, "g_loss": 0.5, "real_logit": 1.0, "fake_logit": -1.0}
            for s in range(1, 11)]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    viz.plot_losses(tmp_path / "metrics.jsonl", tmp_path / "losses.png")
    with Image.open(tmp_path / "losses.png") as img:
        assert img.format == "PNG" and img.size[0] > img.size[1] > 100
