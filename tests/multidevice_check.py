"""One device vs four fake CPU devices: the same global batch must give the same train state.

Run as a script (tests/test_step.py does, in a subprocess): it forces 4 host devices before jax is
imported, trains `--steps` steps of every variant on a 1-device mesh and on the 4-device mesh from
the same seed and data, and prints one JSON line {variant: max |difference| over the state}.
Exit status 0 when every difference is within `--tol`, 1 otherwise.

The margin is set by Adam's first step, lr·g/(|g| + eps): a gradient entry that cancels to ~1e-9
on one device and to exactly 0 on four moves by ~lr·0.1 on one and not at all on the other
(seen: SAN, D's last hidden bias, 8.5e-6 at lr 1e-4). Other differences are ~1e-6.
"""

from __future__ import annotations

import os

os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4"
).strip()
os.environ["JAX_PLATFORMS"] = "cpu"

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402

import jax  # noqa: E402
import numpy as np  # noqa: E402

from jaxgan.config import load_variant_config  # noqa: E402
from jaxgan.train import Trainer, make_mesh  # noqa: E402

VARIANTS = ("vanilla", "wgan_gp", "hinge", "san")


def train(config, devices, images, steps):
    trainer = Trainer(config, make_mesh(devices), len(images))
    state, _ = trainer.run(trainer.init_state(), trainer.put_data(images), steps)
    return jax.device_get(state)


def max_diff(a, b) -> tuple[float, str]:
    """The largest |a - b| over the two trees' leaves, and the path of that leaf."""
    worst, where = 0.0, ""
    for (path, x), y in zip(jax.tree_util.tree_leaves_with_path(a), jax.tree.leaves(b),
                            strict=True):
        d = float(np.max(np.abs(np.asarray(x, np.float64) - np.asarray(y, np.float64)),
                         initial=0.0))
        if d > worst:
            worst, where = d, jax.tree_util.keystr(path)
    return worst, where


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--tol", type=float, default=1e-5)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    args = parser.parse_args()

    devices = jax.devices()
    if len(devices) != 4:
        print(f"expected 4 fake CPU devices, got {devices}", file=sys.stderr)
        return 2
    # 5 batches of 64: the run crosses no epoch boundary but gathers from a permutation.
    images = np.random.default_rng(0).integers(0, 256, (5 * 64, 28, 28), dtype=np.uint8)
    result = {}
    for name in args.variants.split(","):
        config = load_variant_config(name)
        config.batch_size = 64
        one = train(config, devices[:1], images, args.steps)
        four = train(config, devices, images, args.steps)
        if int(one.step) != args.steps or int(four.step) != args.steps:
            print(f"{name}: wrong step count {one.step}, {four.step}", file=sys.stderr)
            return 2
        result[name], where = max_diff(one, four)
        print(f"{name}: max |1 device - 4 devices| = {result[name]:.3g} at {where}",
              file=sys.stderr)
    print(json.dumps(result))
    return 0 if all(d <= args.tol for d in result.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
