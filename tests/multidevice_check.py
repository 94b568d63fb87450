"""One device vs four fake CPU devices: the same global batch must give the same train state.

Run as a script (tests/test_step.py does, in a subprocess): it forces 4 host devices before jax is
imported, trains `--steps` steps of every variant on a 1-device mesh and on the 4-device mesh from
the same seed and data, and prints one JSON line {variant: [max |difference|, fraction of float
elements off by more than --tol, Adam's bound]}. Exit status 0 when, for every variant, the integer
leaves (step, keys, data order) are equal, the fraction is at most --max_fraction and the largest
difference is within Adam's bound; 1 otherwise.

Why a fraction and not one tolerance: the sums of a sharded batch are ordered differently, so a
gradient entry that cancels to ~1e-9 on one device may be exactly 0 on four, and Adam's update
lr·m̂/(√v̂ + eps) then moves that one entry by up to ~lr on one and not at all on the other (seen:
SAN, D's last hidden bias, 8.5e-6 at lr 1e-4; which entries cancel depends on the CPU). Such
entries are few (at most 0.13% of them seen, in ClusterGAN: lr 1e-3, 5 critic steps, so 10 D
and 2 G/E updates, each able to flip; the check allows 1%); a sharding bug (devices on other data,
a missing all-reduce) moves nearly every entry by ~lr. Adam moves an entry by at most about 3.2·lr
a step (bias-corrected m̂/√v̂ ≤ (1 - b1)/√(1 - b2) for these betas), so two runs differ by at most
6.4·lr·updates.
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
from tree_compare import compare  # noqa: E402

from jaxgan.cli import override  # noqa: E402
from jaxgan.mesh import make_mesh  # noqa: E402
from jaxgan.train import Trainer  # noqa: E402
from jaxgan.variant_files import load_variant_config  # noqa: E402

NARROW = {"g_hidden": (64, 128), "d_hidden": (128, 64), "enc_hidden": (128, 64)}
VARIANTS = ("vanilla", "wgan_gp", "hinge", "san", "clustergan", "gmgan_supervised")
# ClusterGAN in the paper's form (its default is team 000's BCE with one D step): a gradient
# penalty through the sharded batch, an encoder and 5 critic steps, the most sharding touches
FORMS = {"clustergan": {"n_critic": 5, "objective.adversarial": "wgan_gp"}}


def train(config, devices, images, steps):
    labels = np.arange(len(images), dtype=np.int32) % 10
    trainer = Trainer(config, make_mesh(devices), len(images))
    state, _ = trainer.run(trainer.init_state(), trainer.put_data(images, labels), steps)
    return jax.device_get(state)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--tol", type=float, default=1e-5)
    parser.add_argument("--max_fraction", type=float, default=1e-2)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--narrow", default="",
                        help="variants to run on narrow networks (sharding does not depend on "
                             "widths; it keeps the check fast)")
    args = parser.parse_args()

    devices = jax.devices()
    if len(devices) != 4:
        print(f"expected 4 fake CPU devices, got {devices}", file=sys.stderr)
        return 2
    # 5 batches of 64: the run crosses no epoch boundary but gathers from a permutation.
    images = np.random.default_rng(0).integers(0, 256, (5 * 64, 28, 28), dtype=np.uint8)
    result, ok = {}, True
    for name in args.variants.split(","):
        config = load_variant_config(name)
        config.batch_size = 64
        override(config, FORMS.get(name, {}))
        if name in args.narrow.split(","):
            config.nets = NARROW
        one = train(config, devices[:1], images, args.steps)
        four = train(config, devices, images, args.steps)
        if int(one.step) != args.steps or int(four.step) != args.steps:
            print(f"{name}: wrong step count {one.step}, {four.step}", file=sys.stderr)
            return 2
        worst, fraction, ints_equal, where = compare(one, four, args.tol)
        lrs = [v.lr for v in config.optim.values() if hasattr(v, "lr")]
        bound = 6.4 * max(lrs) * args.steps * config.n_critic  # n_critic D updates a step
        result[name] = [worst, fraction, bound]
        print(f"{name}: max |1 device - 4 devices| = {worst:.3g} at {where}; "
              f"{fraction:.2e} of the elements beyond {args.tol:g}; integers equal: {ints_equal}",
              file=sys.stderr)
        ok &= ints_equal and fraction <= args.max_fraction and worst <= bound
    print(json.dumps(result))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
