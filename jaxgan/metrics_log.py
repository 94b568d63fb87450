"""Reading `metrics.jsonl`, the training log: one JSON object a line, appended as the run goes.

A crash in the middle of a write leaves a torn last line; it lies past the last checkpoint (the
log is fsynced before every save), so it is dropped. A torn line elsewhere is damage to report.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

from jaxgan.files import write_atomic


class MetricsLogError(ValueError):
    """A line of metrics.jsonl that is not a JSON object, other than a torn last one."""


def read_rows(path: str | Path, warn_torn: bool = True) -> list[dict]:
    """The rows of the log at `path` ([] when there is none); a torn last line is dropped (with a
    warning when `warn_torn`); any other unreadable line raises MetricsLogError naming it."""
    path = Path(path)
    if not path.is_file():
        return []
    lines = path.read_text(errors="replace").splitlines()
    numbered = [(i + 1, line) for i, line in enumerate(lines) if line.strip()]
    rows = []
    for k, (number, line) in enumerate(numbered):
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError("not a JSON object")
        except ValueError as e:
            if k == len(numbered) - 1:
                if warn_torn:
                    warnings.warn(f"{path}: dropped its torn last line {number} (a write cut "
                                  "short by a crash; it lies past the last checkpoint)",
                                  stacklevel=2)
                break
            raise MetricsLogError(
                f"{path}, line {number}: not a JSON row ({e}); the log is damaged: fix or delete "
                "that line to resume"
            ) from None
        rows.append(row)
    return rows


def trim(path: str | Path, last_step: int) -> None:
    """Keeps the rows up to `last_step` (a resumed run redoes the steps after it) and rewrites
    the file when anything was dropped, a torn last line included."""
    path = Path(path)
    if not path.is_file():
        return
    rows = read_rows(path)
    kept = [r for r in rows if r.get("step", 0) <= last_step]
    text = "".join(json.dumps(r) + "\n" for r in kept)
    if text != path.read_text(errors="replace"):
        write_atomic(path, text, fsync=True)  # a crash now leaves the old log, not half of it
