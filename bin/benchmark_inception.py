"""Throughput of the FID Inception features (images/s) on 28x28 uint8 MNIST-like input.

Uses the seeded stand-in weights (same shapes and cost as the real ones), compiles on one
warm-up batch, then times `pool3_features` on --num_images images.

    python bin/benchmark_inception.py --num_images=200 --batch_size=50 [--json]
"""

from __future__ import annotations

import argparse
import json
import time

import jax
import numpy as np

from jaxgan.eval.inception import params_from_torch_state_dict, pool3_features
from jaxgan.eval.weights import seeded_state_dict
from jaxgan.pixels import IMAGE_SHAPE


def mnist_like(num_images: int, seed: int = 0) -> np.ndarray:
    """uint8 (N, 28, 28), mostly black with bright strokes; content does not affect speed."""
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 256, (num_images, *IMAGE_SHAPE), dtype=np.uint8)
    return np.where(rng.random((num_images, *IMAGE_SHAPE)) < 0.2, values, 0).astype(np.uint8)


def benchmark(num_images: int, batch_size: int) -> dict:
    """Seconds and images/s for `num_images` after one warm-up batch."""
    params = jax.device_put(params_from_torch_state_dict(seeded_state_dict()))
    images = mnist_like(num_images)
    pool3_features(params, images[:batch_size], batch_size=batch_size, progress=False)
    start = time.perf_counter()
    pool3_features(params, images, batch_size=batch_size, progress=False)
    seconds = time.perf_counter() - start
    return {
        "num_images": num_images,
        "batch_size": batch_size,
        "seconds": round(seconds, 3),
        "images_per_second": round(num_images / seconds, 2),
        "device": str(jax.devices()[0]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num_images", type=int, default=200)
    parser.add_argument("--batch_size", type=int, default=50)
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args()
    if args.num_images < args.batch_size:
        parser.error("--num_images must be at least --batch_size (one warm-up batch)")
    result = benchmark(args.num_images, args.batch_size)
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{result['images_per_second']:.1f} images/s "
            f"({result['num_images']} images in {result['seconds']:.2f} s, "
            f"batch {result['batch_size']}, {result['device']})"
        )


if __name__ == "__main__":
    main()
