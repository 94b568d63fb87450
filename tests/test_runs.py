"""The default workdir: the most recently trained run under runs/ (jaxgan/runs.py), and the bin/
scripts that fall back to it."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from jaxgan.runs import NoTrainedRun, latest_run, workdir_or_latest

ROOT = Path(__file__).resolve().parents[1]
NO_RUN = ("error: no trained run under runs/; train one first (python bin/train.py --variant=...) "
          "or pass --workdir")


def _run(root: Path, name: str, steps=(), metrics_at=None, config=True) -> Path:
    """A fabricated workdir: config.json, checkpoints/<step>/ with mtime = step, and optionally a
    metrics.jsonl with that mtime."""
    run = root / name
    (run / "checkpoints").mkdir(parents=True)
    if config:
        (run / "config.json").write_text("{}")
    for step in steps:
        (run / "checkpoints" / str(step)).mkdir()
        os.utime(run / "checkpoints" / str(step), (step, step))
    if metrics_at is not None:
        (run / "metrics.jsonl").write_text("")
        os.utime(run / "metrics.jsonl", (metrics_at, metrics_at))
    return run


def test_latest_run_is_the_newest_save_of_a_trained_run(tmp_path):
    # newest step folder by number, not by name order or mtime of older steps
    _run(tmp_path, "a", steps=(1000, 900, 10))
    b = _run(tmp_path, "b", steps=(500,), metrics_at=2000)  # its log was written last
    _run(tmp_path, "no_config", steps=(5000,), config=False)
    _run(tmp_path, "no_steps", metrics_at=9000)
    (tmp_path / "no_steps" / "checkpoints" / "9000.orbax-checkpoint-tmp-1").mkdir()  # unfinished
    os.utime(tmp_path / "no_steps" / "config.json", (9000, 9000))
    (tmp_path / "a_file").write_text("")
    assert latest_run(tmp_path) == b
    os.utime(b / "metrics.jsonl", (800, 800))
    assert latest_run(tmp_path) == tmp_path / "a"  # step 1000 is newer than b's 800
    os.utime(tmp_path / "a" / "checkpoints" / "1000", (1, 1))  # a's newest step, saved long ago
    assert latest_run(tmp_path) == b


def test_no_trained_run_is_one_line(tmp_path, capsys):
    with pytest.raises(NoTrainedRun) as info:
        latest_run(tmp_path / "runs")  # no such folder
    assert f"error: {info.value}" == NO_RUN.replace("runs/", f"{tmp_path / 'runs'}/", 1)
    assert isinstance(info.value, ValueError)  # bin/ scripts print ValueErrors as one line
    _run(tmp_path, "untrained", metrics_at=1)
    with pytest.raises(NoTrainedRun, match=f"^no trained run under {re.escape(str(tmp_path))}/;"):
        latest_run(tmp_path)
    assert workdir_or_latest("given", tmp_path) == "given"
    assert capsys.readouterr().err == ""
    trained = _run(tmp_path, "trained", steps=(3,))
    assert workdir_or_latest(None, tmp_path) == str(trained)
    assert capsys.readouterr().err == (f"using {trained}, the most recently trained run under "
                                       f"{tmp_path}/ (pass --workdir to choose another)\n")


@pytest.mark.parametrize("args", [["sample.py"], ["evaluate.py"],
                                  ["plot_latent.py", "--plot=interp", "--out=x"]])
def test_scripts_without_a_run_say_so_in_one_line(tmp_path, args):
    script, *flags = args
    r = subprocess.run([sys.executable, str(ROOT / "bin" / script), *flags], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and r.stderr.splitlines() == [NO_RUN], r.stderr[-2000:]
