"""The machine a benchmark runs on: its float32 matmul rate (square and per shape), its CPU and
what else used the cores during a timed window (/proc/stat)."""

from __future__ import annotations

import os
import platform
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np


def _seconds_per_dot(m: int, k: int, n: int, measurements: int, min_seconds: float) -> float:
    """Median seconds of one jitted float32 (m×k)·(k×n) `jnp.dot` at JAX's default precision.

    Each measurement dispatches enough back-to-back products to last about `min_seconds` and
    waits for the last one (a device runs them in order).
    """
    rng = np.random.default_rng(1)  # numpy: no RNG program to compile for every shape
    x = jax.device_put(rng.standard_normal((m, k), np.float32))
    y = jax.device_put(rng.standard_normal((k, n), np.float32))
    dot = jax.jit(jnp.dot)
    dot(x, y).block_until_ready()

    def timed(reps: int) -> float:
        start = time.perf_counter()
        for _ in range(reps):
            out = dot(x, y)
        out.block_until_ready()
        return time.perf_counter() - start

    reps = 1
    while (elapsed := timed(reps)) < min_seconds and reps < 1 << 16:
        reps = max(reps * 2, int(reps * min_seconds / max(elapsed, 1e-9)))
    return statistics.median(timed(reps) / reps for _ in range(measurements))


def dots_rate(dots, measurements: int = 3, min_seconds: float = 0.05) -> float:
    """FLOP/s of the matmuls `dots` [(m, k, n), ...] each timed alone (median) and summed.

    For a step's `step_dots`, this is the rate its own matmul shapes reach one at a time: a
    ceiling for the step that accounts for small and thin shapes, which run far below a large
    square matmul (on a GPU it also includes one launch per dot).
    """
    seconds = {
        shape: _seconds_per_dot(*shape, measurements, min_seconds) for shape in set(dots)
    }
    return sum(2 * m * k * n for m, k, n in dots) / sum(seconds[shape] for shape in dots)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict:
    devices = jax.devices()
    info = {
        "backend": jax.default_backend(),
        "devices": len(devices),
        "device_kind": devices[0].device_kind,
        "jax_version": jax.__version__,
        "jax_default_matmul_precision": jax.config.jax_default_matmul_precision,
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
    }
    if hasattr(os, "sched_getaffinity"):
        info["cpus_usable"] = len(os.sched_getaffinity(0))
    return info


class CpuMonitor:
    """CPU-seconds per wall-second that *other* processes used since `start()` (Linux /proc/stat).

    System busy time (user, nice, system, irq, softirq) minus this process's own CPU time, and the
    hypervisor's steal time separately; both None where /proc/stat is missing.
    """

    def __init__(self):
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def _read(self):
        try:
            with open("/proc/stat") as f:
                fields = [int(v) for v in f.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        fields += [0] * (8 - len(fields))
        user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
        own = os.times()
        return (user + nice + system + irq + softirq) / self.tick, steal / self.tick, (
            own.user + own.system
        ), time.perf_counter()

    def start(self):
        self._start = self._read()

    def stop(self) -> tuple[float | None, float | None]:
        end = self._read()
        if self._start is None or end is None:
            return None, None
        busy, steal, own, wall = (e - s for e, s in zip(end, self._start, strict=True))
        wall = max(wall, 1e-9)
        return max(busy - own, 0.0) / wall, steal / wall
