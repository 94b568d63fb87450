"""Training-step throughput: jaxgan's jitted `vanilla` step against the course template in PyTorch.

For each batch size, in one process on one machine:

- jaxgan: `Trainer.run` (k scanned steps per dispatch, k = `steps_per_call`). The first call is
  timed on its own (`compile_s`: tracing, XLA compilation and one execution of k steps); then
  warm-up calls, then timed windows of whole calls ended by `block_until_ready`.
- PyTorch eager (when torch is installed), `jaxgan.torch_reference`: the template's step as
  written (fakes not detached in the D step) and with detached fakes. Batches come from MNIST held
  in memory as a tensor on the torch device, indexed by a random permutation (no `DataLoader`:
  this times the step, not the loader). CUDA work is synchronised at the end of every window.
  `torch.set_num_threads` is left at its default, which is reported.

The windows alternate (jaxgan, torch template, torch detached, repeat) so that noise on the machine
hits all three alike; a rate is the median over the windows. Window lengths are either a fixed
number of steps or sized from the warm-up rate to last about `window_seconds`.

The FLOPs of one step are counted analytically from the dense layers (2·rows·in·out per matmul;
the forward, the weight gradients and the input gradients each count one matmul, and only the
gradients a step needs are counted), and cross-checked with XLA's `cost_analysis` of the compiled
jaxgan step (which also counts the element-wise work: activations, losses, Adam). The machine's
matmul rate is measured in the same run with a square float32 `jnp.dot` (median), so
"% of matmul rate" = analytic FLOPs × steps/s ÷ that rate.

On Linux the CPU time used by other processes during each window is read from /proc/stat, to show
whether something else competed for the cores (`other_cpu_cores`, in cores busy on average).
"""

from __future__ import annotations

import importlib.util
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

from jaxgan.config import load_variant_config
from jaxgan.models import D_HIDDEN, G_HIDDEN, IMAGE_DIM
from jaxgan.train import Trainer, make_mesh

IMPLS = ("jaxgan", "torch_template", "torch_detached")
TARGETS = {"x_template": 2.5, "x_detached": 2.0, "pct_of_matmul": 85.0}  # at batch 64


def torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


# ---------------------------------------------------------------- FLOPs


def _layers(widths: Sequence[int]) -> list[tuple[int, int]]:
    return list(zip(widths[:-1], widths[1:], strict=True))


def g_layers(latent_dim: int = 100) -> list[tuple[int, int]]:
    return _layers((latent_dim, *G_HIDDEN, IMAGE_DIM))


def d_layers() -> list[tuple[int, int]]:
    return _layers((IMAGE_DIM, *D_HIDDEN, 1))


def _mlp_dots(layers, rows: int, weight_grads: bool, input_grads: bool, backward: bool = True):
    """The matmuls (m, k, n) of one pass of `rows` rows through the MLP `layers`.

    The forward is (rows×in)·(in×out) per layer; a backward pass adds each layer's weight
    gradient xᵀ·dy (in×rows)·(rows×out) if `weight_grads`, and each layer's input gradient
    dy·Wᵀ (rows×out)·(out×in), which every layer but the first needs to pass the gradient down,
    and the first only if `input_grads` (the gradient reaches the net's input, e.g. D's input
    when G is trained through it).
    """
    dots = [(rows, i, o) for i, o in layers]
    if backward:
        if weight_grads:
            dots += [(i, rows, o) for i, o in layers]
        dots += [(rows, o, i) for n, (i, o) in enumerate(layers) if n > 0 or input_grads]
    return dots


def step_dots(batch_size: int, form: str = "jaxgan", latent_dim: int = 100):
    """The matmuls (m, k, n) of one training step (one D step, one G step) at `batch_size`.

    - "jaxgan": D step: G forward on z (stop_gradient), D forward and backward on the concatenated
      [real; fake] (2B rows; weight grads, no input grad at layer 1). G step: G forward and
      backward (weight grads, no grad w.r.t. z), D forward and backward for the input gradient
      only (D's parameters are constants there).
    - "torch_detached": as jaxgan (real and fake in two D calls of B rows), but the G step's
      backward also computes D's weight gradients (D's parameters require grad; they are zeroed
      by the next `D.zero_grad()`).
    - "torch_template": as torch_detached, and the D loss back-propagates through G: D's input
      gradient for the fakes, G's weight gradients and its input gradients below layer 1.
    """
    g, d, b = g_layers(latent_dim), d_layers(), batch_size
    if form == "jaxgan":
        d_step = _mlp_dots(g, b, False, False, backward=False) + _mlp_dots(d, 2 * b, True, False)
        g_step = _mlp_dots(g, b, True, False) + _mlp_dots(d, b, False, True)
    elif form in ("torch_template", "torch_detached"):
        template = form == "torch_template"
        d_step = (
            _mlp_dots(d, b, True, False)  # real
            + _mlp_dots(g, b, template, False, backward=template)
            + _mlp_dots(d, b, True, template)  # fake
        )
        g_step = _mlp_dots(g, b, True, False) + _mlp_dots(d, b, True, True)
    else:
        raise ValueError(f"unknown form {form!r}; valid: {', '.join(IMPLS)}")
    return d_step + g_step


def step_flops(batch_size: int, form: str = "jaxgan", latent_dim: int = 100) -> int:
    """Matmul FLOPs of one training step: 2·m·k·n summed over `step_dots` (no bias, no
    element-wise work)."""
    return sum(2 * m * k * n for m, k, n in step_dots(batch_size, form, latent_dim))


def xla_step_flops(trainer: Trainer, state, data) -> float | None:
    """XLA's `cost_analysis` FLOPs of one compiled jaxgan step (None if the backend has none)."""
    key = jax.random.PRNGKey(0)
    try:
        analysis = jax.jit(trainer.step).lower(state, data, key).compile().cost_analysis()
    except Exception:  # noqa: BLE001 - a missing analysis must not stop the benchmark
        return None
    if isinstance(analysis, (list, tuple)):
        analysis = analysis[0] if analysis else None
    if not analysis or "flops" not in analysis:
        return None
    return float(analysis["flops"])


# ---------------------------------------------------------------- machine


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


def matmul_rate(size: int = 2048, measurements: int = 7, min_seconds: float = 0.25) -> float:
    """Median float32 FLOP/s of a jitted `size`×`size` `jnp.dot` (the machine's matmul rate)."""
    return 2.0 * size**3 / _seconds_per_dot(size, size, size, measurements, min_seconds)


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


# ---------------------------------------------------------------- runners


class JaxRunner:
    """The jaxgan `vanilla` step through `Trainer.run`, `steps_per_call` steps per dispatch."""

    def __init__(self, images_u8: np.ndarray, batch_size: int, steps_per_call: int = 0,
                 variant: str = "vanilla"):
        config = load_variant_config(variant)
        config.batch_size = batch_size
        self.steps_per_call = int(steps_per_call or config.steps_per_call)
        config.steps_per_call = self.steps_per_call
        self.trainer = Trainer(config, make_mesh(), len(images_u8))
        self.data = self.trainer.put_data(images_u8, np.zeros(len(images_u8), np.int32))
        self.state = self.trainer.init_state()
        self.last_metrics = None

    def run(self, num_steps: int) -> None:
        """Runs `num_steps` (a multiple of `steps_per_call`) and waits for the result."""
        metrics = None
        for _ in range(max(num_steps // self.steps_per_call, 1)):
            self.state, metrics = self.trainer.run(self.state, self.data, self.steps_per_call)
        jax.block_until_ready((self.state, metrics))
        self.last_metrics = metrics

    def round_steps(self, num_steps: int) -> int:
        k = self.steps_per_call
        return max(round(num_steps / k), 1) * k

    def xla_flops(self) -> float | None:
        return xla_step_flops(self.trainer, self.state, self.data)


class TorchRunner:
    def __init__(self, images_u8: np.ndarray, batch_size: int, detach: bool, device=None):
        from jaxgan.torch_reference import TorchTemplateStep

        self.step = TorchTemplateStep(images_u8, batch_size, detach=detach, device=device)
        self.steps_per_call = 1

    def run(self, num_steps: int) -> None:
        self.step.run(num_steps)
        self.step.synchronize()

    def round_steps(self, num_steps: int) -> int:
        return max(int(num_steps), 1)


class MatmulRunner:
    """Back-to-back square float32 `jnp.dot`s, timed in the same rounds as the steps (one "step"
    here is one product), so the matmul rate and the step rates see the same machine state."""

    def __init__(self, size: int):
        rng = np.random.default_rng(1)
        self.x = jax.device_put(rng.standard_normal((size, size), np.float32))
        self.y = jax.device_put(rng.standard_normal((size, size), np.float32))
        self.dot = jax.jit(jnp.dot)
        self.dot(self.x, self.y).block_until_ready()
        self.flops = 2.0 * size**3
        self.steps_per_call = 1

    def run(self, num_steps: int) -> None:
        for _ in range(max(num_steps, 1)):
            out = self.dot(self.x, self.y)
        out.block_until_ready()

    def round_steps(self, num_steps: int) -> int:
        return max(int(num_steps), 1)


def torch_device_for_jax():
    """CUDA when both JAX runs on a GPU and torch has CUDA, else the CPU (same kind of device)."""
    import torch

    if jax.default_backend() == "gpu" and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


@dataclass
class Windows:
    seconds: list[float] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)
    other_cpu: list[float | None] = field(default_factory=list)
    steal: list[float | None] = field(default_factory=list)

    @property
    def rates(self) -> list[float]:
        return [n / s for n, s in zip(self.steps, self.seconds, strict=True)]

    @property
    def median(self) -> float:
        return statistics.median(self.rates)


def _warm_up(runner, seconds: float) -> float:
    """Runs whole calls for about `seconds` (at least one); returns the observed steps/s."""
    steps, start = 0, time.perf_counter()
    while True:
        runner.run(runner.steps_per_call)
        steps += runner.steps_per_call
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return steps / elapsed


def _timed(runner, steps: int, monitor: CpuMonitor, windows: Windows) -> None:
    monitor.start()
    start = time.perf_counter()
    runner.run(steps)
    elapsed = time.perf_counter() - start
    other, steal = monitor.stop()
    windows.seconds.append(elapsed)
    windows.steps.append(steps)
    windows.other_cpu.append(other)
    windows.steal.append(steal)


def _max_or_none(values):
    values = [v for v in values if v is not None]
    return round(max(values), 3) if values else None


def benchmark_batch(
    images_u8: np.ndarray,
    batch_size: int,
    *,
    windows: int = 7,
    steps_per_window: int = 0,
    window_seconds: float = 3.0,
    warmup_seconds: float = 1.0,
    steps_per_call: int = 0,
    with_torch: bool = True,
    matmul_size: int = 2048,
    matmul_seconds: float = 0.5,
    shape_ceiling: bool = True,
    shape_seconds: float = 0.05,
    log: Callable = print,
) -> dict:
    """One batch size: the implementations' windows and a matmul window, in alternating rounds;
    returns the JSON row."""
    monitor = CpuMonitor()
    jax_runner = JaxRunner(images_u8, batch_size, steps_per_call)
    start = time.perf_counter()
    jax_runner.run(jax_runner.steps_per_call)
    compile_s = time.perf_counter() - start
    log(f"[batch {batch_size}] jaxgan first call ({jax_runner.steps_per_call} steps, "
        f"incl. compilation): {compile_s:.2f} s")
    runners = {"jaxgan": jax_runner}
    if with_torch:
        device = torch_device_for_jax()
        runners["torch_template"] = TorchRunner(images_u8, batch_size, False, device)
        runners["torch_detached"] = TorchRunner(images_u8, batch_size, True, device)
    runners["matmul"] = matmul = MatmulRunner(matmul_size)

    steps = {}
    for name, runner in runners.items():
        rate = _warm_up(runner, min(warmup_seconds, matmul_seconds) if runner is matmul
                        else warmup_seconds)
        if runner is matmul:
            wanted = max(round(matmul_seconds * rate), 1)
        else:
            wanted = steps_per_window or max(round(window_seconds * rate), 1)
        steps[name] = runner.round_steps(wanted)
        log(f"[batch {batch_size}] {name}: warm-up {rate:.1f} steps/s; "
            f"{steps[name]} steps per window")

    results = {name: Windows() for name in runners}
    for w in range(windows):
        for name, runner in runners.items():
            _timed(runner, steps[name], monitor, results[name])
        log(f"[batch {batch_size}] round {w + 1}/{windows}: " + ", ".join(
            f"{name} {results[name].rates[-1]:.2f}" for name in runners if name != "matmul")
            + f" steps/s; matmul {results['matmul'].rates[-1] * matmul.flops / 1e9:.1f} GFLOP/s")

    flops = step_flops(batch_size, "jaxgan")
    xla_flops = jax_runner.xla_flops()
    jax_rate = results["jaxgan"].median
    matmul_windows = results.pop("matmul")
    matmul_flops_per_s = matmul_windows.median * matmul.flops
    row = {
        **machine_info(),
        "batch_size": batch_size,
        "jaxgan_steps_per_sec": jax_rate,
        "torch_template_steps_per_sec": None,
        "torch_detached_steps_per_sec": None,
        "compile_s": compile_s,
        "steps_per_call": jax_runner.steps_per_call,
        "windows": windows,
        "steps_per_window": steps,
        "flops_per_step": flops,
        "flops_per_step_xla": xla_flops,
        "jaxgan_gflops": flops * jax_rate / 1e9,
    }
    row["matmul_gflops"] = matmul_flops_per_s / 1e9
    row["matmul_size"] = matmul_size
    row["matmul_window_gflops"] = [round(r * matmul.flops / 1e9, 1) for r in matmul_windows.rates]
    row["pct_of_matmul"] = 100.0 * flops * jax_rate / matmul_flops_per_s
    if shape_ceiling:
        shapes_rate = dots_rate(step_dots(batch_size, "jaxgan"), min_seconds=shape_seconds)
        row["shape_matmul_gflops"] = shapes_rate / 1e9
        row["pct_of_shape_matmul"] = 100.0 * flops * jax_rate / shapes_rate
        log(f"[batch {batch_size}] the step's {len(step_dots(batch_size))} matmuls timed one "
            f"at a time: {shapes_rate / 1e9:.1f} GFLOP/s")
    for name, res in results.items():
        row[f"{name}_steps_per_sec"] = res.median
        row[f"{name}_window_steps_per_sec"] = [round(r, 3) for r in res.rates]
        row[f"{name}_spread"] = (max(res.rates) - min(res.rates)) / res.median
    if with_torch:
        from jaxgan.torch_reference import describe_torch

        row.update(describe_torch())
        row["torch_device"] = str(runners["torch_template"].step.device)
        for form in ("torch_template", "torch_detached"):
            row[f"flops_per_step_{form}"] = step_flops(batch_size, form)
        row["x_template"] = jax_rate / row["torch_template_steps_per_sec"]
        row["x_detached"] = jax_rate / row["torch_detached_steps_per_sec"]
    every = [r for res in results.values() for r in res.other_cpu]
    row["other_cpu_cores_max"] = _max_or_none(every)
    row["other_cpu_cores_mean"] = (
        round(statistics.mean([v for v in every if v is not None]), 3)
        if any(v is not None for v in every) else None
    )
    row["steal_cores_max"] = _max_or_none([s for res in results.values() for s in res.steal])
    del runners, jax_runner
    return row


def run_benchmark(
    images_u8: np.ndarray,
    batch_sizes: Sequence[int] = (64, 256, 1024),
    *,
    windows: int = 7,
    with_torch: bool = True,
    log: Callable = print,
    **options,
) -> list[dict]:
    """The benchmark over `batch_sizes`; one row (dict) per batch size. `options` are the other
    keyword arguments of `benchmark_batch` (window lengths, warm-up, matmul size, ...)."""
    if windows < 1:
        raise ValueError("windows must be at least 1")
    if with_torch and not torch_available():
        log("torch is not installed: skipping the PyTorch reference")
        with_torch = False
    images_u8 = np.asarray(images_u8, np.uint8).reshape(len(images_u8), -1)
    for b in batch_sizes:
        if b > len(images_u8):
            raise ValueError(f"batch size {b} exceeds the {len(images_u8)} images")
    return [
        benchmark_batch(images_u8, b, windows=windows, with_torch=with_torch, log=log, **options)
        for b in batch_sizes
    ]


# ---------------------------------------------------------------- report


def _fmt(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def format_table(rows: Sequence[dict]) -> str:
    header = (
        f"{'batch':>5}  {'jaxgan':>9}  {'template':>9}  {'detached':>9}  {'x tmpl':>6}  "
        f"{'x det':>6}  {'GFLOP/step':>10}  {'(XLA)':>7}  {'GFLOP/s':>8}  {'matmul':>7}  "
        f"{'% matmul':>8}  "
        f"{'% shapes':>8}  {'compile s':>9}  {'other cpu':>9}"
    )
    lines = ["steps/s (median of windows)", header, "-" * len(header)]
    for r in rows:
        xla = r.get("flops_per_step_xla")
        lines.append(
            f"{r['batch_size']:>5}  {r['jaxgan_steps_per_sec']:>9.2f}  "
            f"{_fmt(r.get('torch_template_steps_per_sec'), '9.2f'):>9}  "
            f"{_fmt(r.get('torch_detached_steps_per_sec'), '9.2f'):>9}  "
            f"{_fmt(r.get('x_template'), '6.2f'):>6}  {_fmt(r.get('x_detached'), '6.2f'):>6}  "
            f"{r['flops_per_step'] / 1e9:>10.3f}  {_fmt(xla and xla / 1e9, '7.3f'):>7}  "
            f"{r['jaxgan_gflops']:>8.1f}  {r['matmul_gflops']:>7.1f}  "
            f"{_fmt(r.get('pct_of_matmul'), '8.1f'):>8}  "
            f"{_fmt(r.get('pct_of_shape_matmul'), '8.1f'):>8}  {r['compile_s']:>9.2f}  "
            f"{_fmt(r.get('other_cpu_cores_max'), '9.2f'):>9}"
        )
    first = rows[0] if rows else {}
    lines.append("")
    cpus = first.get("cpus_usable", first.get("cpu_count"))
    lines.append(
        f"backend {first.get('backend')} ({first.get('devices')} x {first.get('device_kind')}), "
        f"CPU {first.get('cpu_model')} ({cpus} usable), "
        f"jax {first.get('jax_version')}, default matmul precision "
        f"{first.get('jax_default_matmul_precision') or 'default'}"
    )
    if "torch_version" in first:
        lines.append(
            f"torch {first['torch_version']} on {first['torch_device']}, "
            f"{first['torch_num_threads']} threads (default), "
            f"{first['torch_num_interop_threads']} inter-op"
        )
    lines.append(
        "GFLOP/s: the jaxgan step's matmul FLOPs x steps/s; matmul: GFLOP/s of a "
        f"{first.get('matmul_size')}^2 float32 jnp.dot timed in the same rounds; % matmul: their "
        "ratio;\n% shapes: over the rate of the step's own matmul shapes timed one at a time\n"
        "compile s: the first Trainer.run call (tracing, compilation and one call of "
        "steps_per_call steps); other cpu: max cores busy with other processes in a window"
    )
    return "\n".join(lines)


def check_targets(rows: Sequence[dict], batch_size: int = 64) -> list[str]:
    """Lines saying whether the batch-`batch_size` row meets `TARGETS`."""
    row = next((r for r in rows if r["batch_size"] == batch_size), None)
    if row is None:
        return [f"targets: no batch-{batch_size} row"]
    out = []
    for key, target in TARGETS.items():
        value = row.get(key)
        if value is None:
            out.append(f"target {key} >= {target}: not measured")
        else:
            verdict = "met" if value >= target else "MISSED"
            out.append(f"target {key} >= {target} at batch {batch_size}: {value:.2f} ({verdict})")
    return out
