"""Training-step throughput: jaxgan's jitted `vanilla` step against the course template in PyTorch.

For each batch size, in one process on one machine:

- jaxgan: `Trainer.run` (k scanned steps per dispatch, k = `steps_per_call`). The first call is
  timed on its own (`compile_s`: tracing, XLA compilation and one execution of k steps); then
  warm-up calls, then timed windows of whole calls ended by `block_until_ready`.
- PyTorch (when torch is installed), `benchmarks.torch_reference`: the template's step as written
  (fakes not detached in the D step), with detached fakes, and the detached step with G and D
  under `torch.compile` (inductor). Batches come from MNIST held in memory as a tensor on the torch
  device, indexed by a random permutation (no `DataLoader`: this times the step, not the loader).
  CUDA work is synchronised at the end of every window. `torch.set_num_threads` is left at its
  default, which is reported.
- Populations (`population` > 1): jaxgan trains that many GANs as one vmapped state
  (`--num_seeds`); PyTorch steps as many template GANs one after another. Both are reported in
  GAN-steps/s (population steps/s × its size).

The windows alternate (jaxgan, torch template, torch detached, ..., repeat) so that noise on the
machine hits all alike; a rate is the median over the windows. Window lengths are either a fixed
number of steps or sized from the warm-up rate to last about `window_seconds`.

FLOPs (`benchmarks.flops`) and the machine's float32 matmul rate, measured in the same rounds with
a square `jnp.dot`, give "% of matmul rate" = analytic FLOPs × steps/s ÷ that rate. On Linux the
CPU time used by other processes during each window is read from /proc/stat, to show whether
something else competed for the cores (`other_cpu_cores`, in cores busy on average).
"""

from __future__ import annotations

import importlib.util
import shutil
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks.flops import step_dots, step_flops, xla_step_flops
from benchmarks.machine import CpuMonitor, dots_rate, machine_info
from jaxgan.mesh import make_mesh
from jaxgan.train import Trainer
from jaxgan.variant_files import load_variant_config

# at batch 64; x_population: GAN-steps/s of a population against as many sequential template steps
TARGETS = {"x_template": 2.5, "x_detached": 2.0, "x_compiled": 2.0, "x_population": 3.0,
           "pct_of_matmul": 85.0}


def torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


def compiler_available() -> bool:
    """torch.compile's inductor needs a C++ compiler on the CPU."""
    return shutil.which("g++") is not None or shutil.which("c++") is not None


# ---------------------------------------------------------------- runners


class JaxRunner:
    """The jaxgan `vanilla` step through `Trainer.run`, `steps_per_call` steps per dispatch."""

    def __init__(self, images_u8: np.ndarray, batch_size: int, steps_per_call: int = 0,
                 variant: str = "vanilla", num_seeds: int = 1):
        config = load_variant_config(variant)
        config.batch_size, config.num_seeds = batch_size, num_seeds
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
    """`members` template steps (seeds 0..members-1) run one after another per "step"."""

    def __init__(self, images_u8: np.ndarray, batch_size: int, detach: bool, device=None,
                 compile: bool = False, members: int = 1):
        from benchmarks.torch_reference import TorchTemplateStep

        self.steps = [TorchTemplateStep(images_u8, batch_size, detach=detach, device=device,
                                        seed=i, compile=compile) for i in range(members)]
        self.step = self.steps[0]
        self.steps_per_call = 1

    def run(self, num_steps: int) -> None:
        for _ in range(num_steps):
            for step in self.steps:
                step.step()
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


def warm_up(runner, seconds: float) -> float:
    """One call (compiling what compiles), then whole calls for about `seconds` (at least one);
    returns the observed steps/s."""
    runner.run(runner.steps_per_call)
    steps, start = 0, time.perf_counter()
    while True:
        runner.run(runner.steps_per_call)
        steps += runner.steps_per_call
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return steps / elapsed


def timed(runner, steps: int, monitor: CpuMonitor, windows: Windows) -> None:
    """One timed window of `steps` steps, with the CPU the rest of the machine used, into
    `windows`."""
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
    torch_compile: bool = True,
    population: int = 0,
    matmul_size: int = 2048,
    matmul_seconds: float = 0.5,
    shape_ceiling: bool = True,
    shape_seconds: float = 0.05,
    log: Callable = print,
) -> dict:
    """One batch size: the implementations' windows and a matmul window, in alternating rounds;
    returns the JSON row. `population` > 1 adds a jaxgan population of that size and as many
    sequential PyTorch template steps."""
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
        if torch_compile:
            runners["torch_compiled"] = TorchRunner(images_u8, batch_size, True, device,
                                                    compile=True)
    if population > 1:
        runners["jaxgan_population"] = JaxRunner(images_u8, batch_size, steps_per_call,
                                                 num_seeds=population)
        start = time.perf_counter()
        runners["jaxgan_population"].run(runners["jaxgan_population"].steps_per_call)
        log(f"[batch {batch_size}] jaxgan population of {population}: first call "
            f"{time.perf_counter() - start:.2f} s")
        if with_torch:
            runners["torch_population"] = TorchRunner(images_u8, batch_size, False, device,
                                                      members=population)
    runners["matmul"] = matmul = MatmulRunner(matmul_size)

    steps = {}
    for name, runner in runners.items():
        rate = warm_up(runner, min(warmup_seconds, matmul_seconds) if runner is matmul
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
            timed(runner, steps[name], monitor, results[name])
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
        row[f"{name}_steps_per_sec"] = res.median  # population steps/s for the populations
        row[f"{name}_window_steps_per_sec"] = [round(r, 3) for r in res.rates]
        row[f"{name}_spread"] = (max(res.rates) - min(res.rates)) / res.median
    if with_torch:
        from benchmarks.torch_reference import describe_torch

        row.update(describe_torch())
        row["torch_device"] = str(runners["torch_template"].step.device)
        for form in ("torch_template", "torch_detached"):
            row[f"flops_per_step_{form}"] = step_flops(batch_size, form)
        row["x_template"] = jax_rate / row["torch_template_steps_per_sec"]
        row["x_detached"] = jax_rate / row["torch_detached_steps_per_sec"]
        if "torch_compiled" in results:
            row["x_compiled"] = jax_rate / row["torch_compiled_steps_per_sec"]
    if population > 1:
        row["population"] = population
        for name in ("jaxgan_population", "torch_population"):
            if name in results:
                row[f"{name}_gan_steps_per_sec"] = population * results[name].median
        if "torch_population" in results:
            row["x_population"] = (row["jaxgan_population_gan_steps_per_sec"]
                                   / row["torch_population_gan_steps_per_sec"])
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
    if with_torch and options.get("torch_compile", True) and not compiler_available():
        log("no C++ compiler for torch.compile's inductor: skipping the compiled step")
        options["torch_compile"] = False
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
        f"{'batch':>5}  {'jaxgan':>9}  {'template':>9}  {'detached':>9}  {'compiled':>9}  "
        f"{'x tmpl':>6}  {'x det':>6}  {'x comp':>6}  {'GFLOP/step':>10}  {'(XLA)':>7}  "
        f"{'GFLOP/s':>8}  {'matmul':>7}  {'% matmul':>8}  "
        f"{'% shapes':>8}  {'compile s':>9}  {'other cpu':>9}"
    )
    lines = ["steps/s (median of windows)", header, "-" * len(header)]
    for r in rows:
        xla = r.get("flops_per_step_xla")
        lines.append(
            f"{r['batch_size']:>5}  {r['jaxgan_steps_per_sec']:>9.2f}  "
            f"{_fmt(r.get('torch_template_steps_per_sec'), '9.2f'):>9}  "
            f"{_fmt(r.get('torch_detached_steps_per_sec'), '9.2f'):>9}  "
            f"{_fmt(r.get('torch_compiled_steps_per_sec'), '9.2f'):>9}  "
            f"{_fmt(r.get('x_template'), '6.2f'):>6}  {_fmt(r.get('x_detached'), '6.2f'):>6}  "
            f"{_fmt(r.get('x_compiled'), '6.2f'):>6}  "
            f"{r['flops_per_step'] / 1e9:>10.3f}  {_fmt(xla and xla / 1e9, '7.3f'):>7}  "
            f"{r['jaxgan_gflops']:>8.1f}  {r['matmul_gflops']:>7.1f}  "
            f"{_fmt(r.get('pct_of_matmul'), '8.1f'):>8}  "
            f"{_fmt(r.get('pct_of_shape_matmul'), '8.1f'):>8}  {r['compile_s']:>9.2f}  "
            f"{_fmt(r.get('other_cpu_cores_max'), '9.2f'):>9}"
        )
    for r in rows:
        if r.get("population"):
            lines.append(
                f"population of {r['population']} at batch {r['batch_size']}: jaxgan "
                f"{r['jaxgan_population_gan_steps_per_sec']:.1f} GAN-steps/s (one vmapped step), "
                f"torch {_fmt(r.get('torch_population_gan_steps_per_sec'), '.1f')} "
                f"(template steps one after another): {_fmt(r.get('x_population'), '.2f')}x"
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
