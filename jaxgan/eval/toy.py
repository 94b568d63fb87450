"""Evaluation of 2-D toy samples: the VEEGAN mode metrics (`latent_priors.md` §5.5) in the
evaluator's report format, for `bin/evaluate.py --workdir=<toy run>` or `--samples=<points npz>`."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from jaxgan.data import toy2d


def toy_points(samples: str | None, run, num_samples: int, seed: int):
    """(points (n, 2), toy name, description) when the source is an opened toy run
    (`jaxgan.run.Run`) or a toy npz; else None."""
    if run is not None:
        name = run.config.get("dataset", "mnist")
        if name not in toy2d.TOY2D_NAMES:
            return None
        from jaxgan.generate import generate_raw

        points = generate_raw(run, num_samples, seed)
        return points, name, run.describe(len(points), seed)
    if samples is not None and samples.endswith(".npz") and Path(samples).is_file():
        try:
            with np.load(samples) as f:
                if "points" not in f or "dataset" not in f:
                    return None
                points, name = f["points"][:num_samples], str(f["dataset"])
        except (OSError, ValueError, zipfile.BadZipFile):
            return None
        return points, name, f"{samples} ({len(points)} points)"
    return None


def toy_report(points: np.ndarray, name: str, description: str) -> dict:
    """The report of `jaxgan.eval.evaluate.evaluate` for toy samples: modes covered, the
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
