"""benchmarks/gpu.py, the first GPU run's one command, at its tiny CPU setting (`--smoke`), so that
it cannot rot before a GPU is lent: every stage runs and reports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_gpu_script_runs_every_stage(tmp_path, small_mnist):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "gpu.py"), "--smoke", f"--out={tmp_path}",
         f"--data_dir={small_mnist}", "--variants=san", "--budget=400"],
        capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((tmp_path / "gpu.json").read_text())
    stages = result["stages"]
    assert stages["tests"]["done"] and "passed" in stages["tests"]["summary"], stages["tests"]
    assert [r["members"] for r in stages["throughput"]["rows"]] == [1, 2]
    assert all(r["gan_steps_per_s"] > 0 for r in stages["throughput"]["rows"])
    san = stages["recipes"]["runs"]["san"]
    assert san["done"] and san["step"] == 2, san
    fd = stages["inception"]["reports"]["san"]["classifier"]["frechet_distance"]
    assert fd[0] > 0 and len(fd) == 2
    assert "| san | 2 of 2 |" in (tmp_path / "gpu.md").read_text()


def test_a_missing_weight_file_is_one_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "gpu.py"), f"--out={tmp_path}",
         "--data_dir=x", f"--inception_weights={tmp_path / 'none.pt'}"],
        capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"error: --inception_weights={tmp_path / 'none.pt'}: no such file"]
