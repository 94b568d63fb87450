"""A population of 8 template GANs on one device and on 4 fake CPU devices, its members sharded
(4×1 mesh) or replicated (1×4, each member's batch split instead): steps/s and the train state's
bytes on each device. The 4 fake devices share this machine's cores, so no speed-up is expected;
the memory per device is the figure.

    python benchmarks/population_mesh.py [--members=8] [--seconds=20]
"""

from __future__ import annotations

import os

os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4"
).strip()
os.environ["JAX_PLATFORMS"] = "cpu"

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import jax  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jaxgan.mesh import make_mesh  # noqa: E402
from jaxgan.train import Trainer  # noqa: E402
from jaxgan.variant_files import load_variant_config  # noqa: E402


def _state_bytes_per_device(state) -> list[int]:
    per = {}
    for leaf in jax.tree.leaves(state):
        for shard in leaf.addressable_shards:
            per[shard.device] = per.get(shard.device, 0) + shard.data.nbytes
    return [per[d] for d in sorted(per, key=lambda d: d.id)]


def measure(members: int, mesh, images, seconds: float, steps_per_call: int = 10) -> dict:
    config = load_variant_config("vanilla")
    config.num_seeds, config.steps_per_call = members, steps_per_call
    trainer = Trainer(config, mesh, len(images))
    data = trainer.put_data(images, np.zeros(len(images), np.int32))
    state = trainer.init_state()
    for _ in range(2):  # compile, then warm
        state, metrics = trainer.run(state, data, steps_per_call)
    jax.block_until_ready(state)
    rates = []
    for _ in range(5):
        calls, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds / 5:
            state, metrics = trainer.run(state, data, steps_per_call)
            jax.block_until_ready(metrics)
            calls += 1
        rates.append(calls * steps_per_call / (time.perf_counter() - start))
    per_device = _state_bytes_per_device(state)
    return {"mesh": dict(mesh.shape), "steps_per_s": statistics.median(rates),
            "gan_steps_per_s": members * statistics.median(rates),
            "state_mib_per_device": [round(b / 2**20, 1) for b in per_device]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    images = np.random.default_rng(0).integers(0, 256, (60000, 28, 28), dtype=np.uint8)
    devices = jax.devices()
    rows = {"1 device": measure(args.members, make_mesh(devices[:1]), images, args.seconds),
            "4 devices, members sharded (4x1)": measure(args.members, make_mesh(devices, 4),
                                                         images, args.seconds),
            "4 devices, members replicated (1x4)": measure(args.members, make_mesh(devices, 1),
                                                            images, args.seconds)}
    print("| layout | steps/s | GAN-steps/s | train state per device (MiB) |")
    print("|---|---|---|---|")
    for name, r in rows.items():
        mib = ", ".join(map(str, r["state_mib_per_device"]))
        print(f"| {name} | {r['steps_per_s']:.1f} | {r['gan_steps_per_s']:.1f} | {mib} |")
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
