"""Mean ± std over the members of a population (`bin/train.py --num_seeds`): their evaluation
reports in one summary."""

from __future__ import annotations

import numpy as np


def population_size(workdir: str | None) -> int:
    """How many GANs a training workdir holds (1 for a plain run, or when it cannot tell: the
    image path then reports the missing or broken workdir)."""
    from jaxgan import population
    from jaxgan.config import try_load_config

    config = try_load_config(workdir)
    return 1 if config is None else population.size(config)


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


def format_summary(summary: dict) -> str:
    """The summary as an aligned table: metric, extractor, mean ± std, the members' values."""
    body = [
        (metric, extractor, f"{s['mean']:.4f} ± {s['std']:.4f}",
         " ".join(f"{v:.4f}" for v in s["values"]))
        for extractor, metrics in summary.items()
        for metric, s in metrics.items()
    ]
    header = ("metric", "extractor", "mean ± std", "members")
    widths = [max(len(row[i]) for row in (header, *body)) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in (header, *body)]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
