"""The cost of JAX's cross-process collectives: the same population run as 2 processes of 2 CPU
devices (gloo between them) and as 1 process of 4, each timed at two lengths so that the start
(imports, compiles, data) cancels out: cost per step = (wall(long) - wall(short)) / extra steps.

    python benchmarks/processes.py [--short=20] [--long=220] [--repeats=3]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN = ["--num_seeds=4", "--config.steps_per_call=10", "--config.checkpoint_every=100000",
       "--config.eval_every=0", "--config.tensorboard=False", "--data_dir=tests/data/mnist"]


def _wall(steps: int, processes: int, workdir: Path) -> float:
    env = dict(os.environ, JAX_PLATFORMS="cpu",
               XLA_FLAGS=f"--xla_force_host_platform_device_count={4 // processes}")
    args = [sys.executable, str(ROOT / "bin" / "train.py"), f"--workdir={workdir}",
            f"--num_steps={steps}", *RUN]
    if processes > 1:
        with socket.socket() as s:
            s.bind(("localhost", 0))
            port = s.getsockname()[1]
        extra = [[f"--coordinator_address=localhost:{port}", f"--num_processes={processes}",
                  f"--process_id={i}"] for i in range(processes)]
    else:
        extra = [[]]
    start = time.perf_counter()
    procs = [subprocess.Popen([*args, *e], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for e in extra]
    for p in procs:
        _, err = p.communicate()
        if p.returncode:
            raise SystemExit(f"error: a run of {processes} process(es) failed: "
                             f"{err.strip().splitlines()[-1] if err.strip() else p.returncode}")
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", type=int, default=20)
    parser.add_argument("--long", type=int, default=220)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for processes in (1, 2):
            costs = []
            for r in range(args.repeats):
                short = _wall(args.short, processes, Path(tmp) / f"s{processes}{r}")
                long = _wall(args.long, processes, Path(tmp) / f"l{processes}{r}")
                costs.append((long - short) / (args.long - args.short))
            rows[processes] = statistics.median(costs)
    print("| layout (4 CPU devices, population of 4) | ms per step (median of "
          f"{args.repeats}) |")
    print("|---|---|")
    print(f"| 1 process x 4 devices | {rows[1] * 1e3:.1f} |")
    print(f"| 2 processes x 2 devices (gloo) | {rows[2] * 1e3:.1f} |")
    print(f"ratio: {rows[2] / rows[1]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
