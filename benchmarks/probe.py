"""GAN-steps/s of the `vanilla` step at batch 64 for one GAN and a population of 8, under this
process's XLA_FLAGS (one JSON line), to compare XLA flags each in a fresh process:

    XLA_FLAGS=--xla_cpu_multi_thread_eigen=false python -m benchmarks.probe --data_dir=...

Median of 5 windows of about 2 s after one warm-up call.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

from benchmarks.throughput import JaxRunner
from jaxgan.data.mnist import load_mnist


def rate(images, num_seeds: int, steps_per_call: int, windows: int = 5) -> float:
    runner = JaxRunner(images, 64, steps_per_call, num_seeds=num_seeds)
    runner.run(runner.steps_per_call)
    start = time.perf_counter()
    runner.run(runner.steps_per_call)
    steps = runner.round_steps(2.0 * runner.steps_per_call / (time.perf_counter() - start))
    rates = []
    for _ in range(windows):
        start = time.perf_counter()
        runner.run(steps)
        rates.append(steps / (time.perf_counter() - start))
    return num_seeds * statistics.median(rates)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_dir", default=None)
    parser.add_argument("--steps_per_call", type=int, default=50)
    args = parser.parse_args()
    images, _ = load_mnist(args.data_dir, "train")
    out = {"xla_flags": os.environ.get("XLA_FLAGS", ""), "steps_per_call": args.steps_per_call}
    for n in (1, 8):
        out[f"gan_steps_per_sec_{n}"] = rate(images, n, args.steps_per_call)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
