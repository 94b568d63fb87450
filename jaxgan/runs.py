"""The run a command means when given no `--workdir`: the most recently trained one under `runs/`,
where `bin/train.py` puts its default workdirs (`runs/<variant>`, relative to the cwd).

It only reads the folders (and takes no lock), so a run still training can be chosen and sampled.
"""

from __future__ import annotations

import sys
from pathlib import Path

RUNS = Path("runs")


class NoTrainedRun(ValueError):
    """No folder under the root holds a trained run; the message says how to get one."""


def _trained_at(run: Path) -> float | None:
    """When `run` last saved: the latest mtime of its newest checkpoint step folder (Orbax names
    them by step number) and its `metrics.jsonl`; None when it is not a trained run."""
    if not (run / "config.json").is_file():
        return None
    try:
        steps = [p for p in (run / "checkpoints").iterdir() if p.name.isdigit()]
        if not steps:
            return None
        newest = max(steps, key=lambda p: int(p.name)).stat().st_mtime
    except OSError:  # no checkpoints/, or a step a training run deleted as we looked
        return None
    try:
        return max(newest, (run / "metrics.jsonl").stat().st_mtime)
    except OSError:
        return newest


def latest_run(root: Path = RUNS) -> Path:
    """The subfolder of `root` holding the most recently trained run (`config.json` and at least
    one saved checkpoint step); NoTrainedRun when there is none."""
    root = Path(root)
    found = []
    if root.is_dir():
        for run in root.iterdir():
            if run.is_dir() and (when := _trained_at(run)) is not None:
                found.append((when, run))
    if not found:
        raise NoTrainedRun(
            f"no trained run under {root}/; train one first (python bin/train.py --variant=...) "
            "or pass --workdir"
        )
    return max(found)[1]


def workdir_or_latest(workdir: str | None, root: Path = RUNS) -> str:
    """`workdir` if given, else `latest_run(root)`, saying so in one line on stderr."""
    if workdir:
        return workdir
    run = latest_run(root)
    print(f"using {run}, the most recently trained run under {Path(root)}/ "
          "(pass --workdir to choose another)", file=sys.stderr)
    return str(run)
