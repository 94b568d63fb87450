"""Evaluation of 2-D toy samples: the VEEGAN mode metrics (`latent_priors.md` §5.5) in the
evaluator's report format, for `bin/evaluate.py --workdir=<toy run>` or `--samples=<points npz>`."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from jaxgan.data import toy2d


def toy_npz_points(samples: str | None, num_samples: int):
    """(points (n, 2), toy name, description) when `samples` is a toy npz (`bin/sample.py` on a
    toy run writes one); else None."""
    if samples is None or not samples.endswith(".npz") or not Path(samples).is_file():
        return None
    try:
        with np.load(samples) as f:
            if "points" not in f or "dataset" not in f:
                return None
            points, name = f["points"][:num_samples], str(f["dataset"])
    except (OSError, ValueError, zipfile.BadZipFile):
        return None
    return points, name, f"{samples} ({len(points)} points)"


def toy_report(points: np.ndarray, name: str, description: str) -> dict:
    """The evaluator's report for toy samples: modes covered, the
    high-quality fraction (within 3 std of the nearest mode) and KL(p̂ ‖ U) of the modes."""
    m = toy2d.mode_metrics(points, name)
    values = {
        "modes_covered": [m["modes_covered"], m["num_modes"]],
        "high_quality_fraction": m["high_quality_fraction"],
        "kl_to_uniform": m["kl_to_uniform"],
    }
    rows = [{"metric": k, "value": v, "n_real": 0, "n_fake": len(points),
             "extractor": f"{name} modes", "k": None} for k, v in values.items()]
    return {"clustering": None, "components": None, "samples": description,
            "reference": f"the {m['num_modes']} modes of {name} (std {toy2d.std(name)})",
            "n_real": 0, "n_fake": len(points), "rows": rows, "metrics": {"modes": values},
            "cache": {}, "warnings": []}
