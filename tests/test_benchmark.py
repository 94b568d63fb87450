"""The benchmark machinery (`benchmarks/`): FLOP counts, and two short windows at batch 64 give
positive finite numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks import flops, machine
from benchmarks import throughput as benchmark


def _images(n=256, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)


def _positive_finite(value):
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def test_step_flops_counts():
    b = 64
    g_macs = 100 * 256 + 256 * 512 + 512 * 1024 + 1024 * 784
    d_macs = 784 * 1024 + 1024 * 512 + 512 * 256 + 256 * 1
    d_step = 2 * b * g_macs + 2 * (2 * b) * (3 * d_macs - 784 * 1024)
    g_step = 2 * b * (3 * g_macs - 100 * 256) + 2 * b * 2 * d_macs
    assert flops.step_flops(b, "jaxgan") == d_step + g_step
    detached = flops.step_flops(b, "torch_detached")
    assert detached == d_step + g_step + 2 * b * d_macs  # + D's weight grads in the G step
    template = flops.step_flops(b, "torch_template")
    assert template == detached + 2 * b * (784 * 1024 + 3 * g_macs - g_macs - 100 * 256)
    with pytest.raises(ValueError):
        flops.step_flops(b, "other")
    dots = flops.step_dots(b)
    assert len(dots) == 4 + 11 + 11 + 8  # G fwd; D fwd+wgrad+igrad; G fwd+wgrad+igrad; D fwd+igrad
    assert (1024, 2 * b, 784) not in dots and (784, 2 * b, 1024) in dots  # D layer-1 weight grad


def test_dots_rate():
    rate = machine.dots_rate([(64, 100, 256), (64, 256, 1), (64, 100, 256)], measurements=1,
                               min_seconds=0.001)
    assert _positive_finite(rate)


@pytest.mark.slow
def test_run_benchmark_smoke():
    rows = benchmark.run_benchmark(
        _images(), [64], windows=2, steps_per_window=2, warmup_seconds=0.0, steps_per_call=2,
        with_torch=benchmark.torch_available(), torch_compile=False, matmul_size=256,
        matmul_seconds=0.01,
        shape_ceiling=False, log=lambda _: None,
    )
    assert len(rows) == 1
    row = rows[0]
    assert row["batch_size"] == 64 and row["backend"] and row["devices"] >= 1
    keys = ["jaxgan_steps_per_sec", "compile_s", "flops_per_step", "matmul_gflops",
            "pct_of_matmul", "jaxgan_gflops"]
    if benchmark.torch_available():
        keys += ["torch_template_steps_per_sec", "torch_detached_steps_per_sec", "x_template",
                 "x_detached"]
    else:
        assert row["torch_template_steps_per_sec"] is None
    for key in keys:
        assert _positive_finite(row[key]), (key, row[key])
    assert len(row["jaxgan_window_steps_per_sec"]) == 2
    if row["flops_per_step_xla"] is not None:  # XLA also counts element-wise work
        assert 0.9 < row["flops_per_step_xla"] / row["flops_per_step"] < 1.3
    table = benchmark.format_table(rows)
    assert "jaxgan" in table and "64" in table
    assert any("x_template" in line for line in benchmark.check_targets(rows))
