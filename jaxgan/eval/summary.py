"""Mean ± std over the members of a population (`bin/train.py --num_seeds`): their evaluation
reports in one summary."""

from __future__ import annotations

import numpy as np


def _scalar(value):
    """A metric as one number: a count `[covered, of]` is its first entry; lists of more are
    histograms and have none."""
    if isinstance(value, list):
        return value[0] if len(value) == 2 else None
    return value if isinstance(value, int | float) else None


def summarize(reports: list[dict]) -> dict:
    """extractor -> metric -> {"mean", "std" (sample std, ddof 1; 0 for one report), "values"}
    over the scalar metrics every report has."""
    out = {}
    for extractor, metrics in reports[0]["metrics"].items():
        for metric in metrics:
            values = [_scalar(r["metrics"].get(extractor, {}).get(metric)) for r in reports]
            if any(v is None for v in values):
                continue
            values = [float(v) for v in values]
            std = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
            out.setdefault(extractor, {})[metric] = {
                "mean": float(np.mean(values)), "std": std, "values": values}
    return out
