"""What `bin/evaluate.py` reports on a source of samples: an image set, or a training workdir
opened once (`jaxgan.run.Run`), sampled, scored by `jaxgan.eval`, with its encoder's clustering
and its prior's components; a population member by member, then mean ± std; printed as tables
and written as JSON.

A `workdir` is sampled with `seed` by the EMA of G where the run keeps one (G itself with
`raw_g`); MNIST is then read from the run's own `data_dir` unless one is given.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from jaxgan import population
from jaxgan.config import try_load_config
from jaxgan.data import toy2d
from jaxgan.eval import evaluate as metrics
from jaxgan.eval.prdc import DEFAULT_BLOCK_SIZE
from jaxgan.eval.sources import EvaluationError, ImageSet, load_images
from jaxgan.eval.summary import summarize
from jaxgan.eval.toy import toy_npz_points, toy_report
from jaxgan.files import write_atomic
from jaxgan.generate import component_agreement, encoder_clustering, generate_images, generate_raw
from jaxgan.run import Run


def open_workdir(workdir: str, member: int | None = None, raw_g: bool = False) -> Run:
    """The training run in `workdir`, of one member of a population, sampled by G's EMA where
    the run keeps one, G itself with `raw_g`."""
    return Run.open(_training_workdir(workdir), member, raw_g)


def _training_workdir(workdir: str) -> Path:
    if not Path(workdir).expanduser().is_dir():
        raise EvaluationError(f"{workdir}: no such training workdir")
    return Path(workdir).expanduser()


def sample_run(run: Run, num_samples: int, seed: int = 0) -> ImageSet:
    """`num_samples` digits of an opened run."""
    images = np.asarray(generate_images(run, num_samples, seed=seed))
    return ImageSet(run.describe(images.shape[0], seed), images, images)


def _toy_points(samples: str | None, run: Run | None, num_samples: int, seed: int):
    """(points, toy name, description) of a toy run or a toy npz; None for images."""
    if run is None:
        return toy_npz_points(samples, num_samples)
    name = run.config.get("dataset", "mnist")
    if name not in toy2d.TOY2D_NAMES:
        return None
    points = generate_raw(run, num_samples, seed)
    return points, name, run.describe(len(points), seed)


def evaluate(
    samples: str | None = None,
    workdir: str | None = None,
    reference: str = "mnist_test",
    num_samples: int = 10000,
    num_reference: int | None = None,
    features: Sequence[str] | None = None,
    inception_weights: str | None = None,
    download_inception: bool = True,
    data_dir: str | None = None,
    seed: int = 0,
    cache_dir: str | None = None,
    block_size: int = DEFAULT_BLOCK_SIZE,
    log: Callable[[str], None] = lambda message: None,
    member: int | None = None,
    raw_g: bool = False,
    opened: Run | None = None,
) -> dict:
    """Evaluates `samples` (or `workdir`, or its population's `member`; `opened`: that run,
    already opened) against `reference`; returns a JSON-ready report:
    `jaxgan.eval.evaluate.evaluate`'s, with `clustering` and `components` for a workdir and
    `seconds`. `num_reference` keeps the first N reference images (None: all). See
    `jaxgan.eval.sources` for the image sources."""
    start = time.perf_counter()
    if (samples is None) == (workdir is None):
        raise EvaluationError("give exactly one of --samples and --workdir")
    least = max(metrics.K_PR, metrics.K_DC)
    if num_samples <= least:
        raise EvaluationError(f"--num_samples must exceed {least}, got {num_samples}")
    if num_reference is not None and num_reference <= least:
        raise EvaluationError(f"--num_reference must exceed {least}, got {num_reference}")
    run = opened if opened is not None or workdir is None else open_workdir(workdir, member,
                                                                            raw_g)
    toy = _toy_points(samples, run, num_samples, seed)
    if toy is not None:
        return toy_report(*toy) | {"seconds": time.perf_counter() - start}
    if run is not None and data_dir is None:
        data_dir = run.config.get("data_dir") or None
    extractors = metrics.build_extractors(features, inception_weights, cache_dir,
                                          download_inception)
    want_rgb = metrics.wants_rgb(extractors)
    fake = (load_images(samples, num_samples, data_dir, want_rgb) if run is None
            else sample_run(run, num_samples, seed))
    real = load_images(reference, num_reference, data_dir, want_rgb)
    report = metrics.evaluate(real, fake, extractors, cache_dir, block_size, log)
    clusters = None if run is None else encoder_clustering(run, data_dir)
    components = None if run is None else component_agreement(run, seed=seed)
    return {"clustering": clusters, "components": components} | report | {
        "seconds": time.perf_counter() - start}


# ------------------------------------------------------------------------------------------------
# Tables.


def aligned(header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    """Rows of cells as a text table: columns padded to their widest cell, a rule under the
    header."""
    widths = [max(len(row[i]) for row in (header, *body)) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in (header, *body)]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _format_value(value) -> str:
    if isinstance(value, list):
        return "/".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:.4f}" if math.isfinite(value) and abs(value) < 1e6 else f"{value:.6g}"
    return str(value)


def format_table(report: dict) -> str:
    """The report's rows: metric, value, N real, N fake, extractor, k."""
    return aligned(("metric", "value", "N real", "N fake", "extractor", "k"), [
        (r["metric"], _format_value(r["value"]), str(r["n_real"]), str(r["n_fake"]),
         r["extractor"], "-" if r["k"] is None else str(r["k"]))
        for r in report["rows"]])


def format_summary(summary: dict) -> str:
    """A population's summary: metric, extractor, mean ± std, the members' values."""
    return aligned(("metric", "extractor", "mean ± std", "members"), [
        (metric, extractor, f"{s['mean']:.4f} ± {s['std']:.4f}",
         " ".join(f"{v:.4f}" for v in s["values"]))
        for extractor, values in summary.items() for metric, s in values.items()])


def format_clustering(clusters: dict) -> str:
    """The encoder's clustering of the MNIST test set, one line per assignment rule."""
    lines = ["encoder clustering of the MNIST test set (latent_priors.md §1.6):"]
    for rule, what in (("argmax", "argmax ℓ"), ("kmeans", "K-Means on [ẑ_n, softmax ℓ]")):
        values = "  ".join(f"{m} {clusters[rule][m]:.4f}" for m in ("accuracy", "purity", "nmi",
                                                                    "ari"))
        lines.append(f"  {what:28s} {values}")
    return "\n".join(lines)


def _print_report(report: dict, out, err) -> None:
    for warning in report["warnings"]:
        print(f"warning: {warning}", file=err)
    print(f"samples:   {report['samples']}\nreference: {report['reference']}", file=out)
    print(format_table(report), file=out)
    if report.get("clustering"):
        print(format_clustering(report["clustering"]), file=out)
    if report.get("components"):
        c = report["components"]
        print(
            "prior components vs the classifier's digits (1,000 samples each): component k is "
            f"digit k for {c['digit_accuracy']:.4f}, matched one-to-one "
            f"{c['matched_accuracy']:.4f}",
            file=out,
        )


def population_size(workdir: str | None) -> int:
    """How many GANs a training workdir holds (1 for a plain run, or when it cannot tell: the
    sampling path then reports the missing or broken workdir)."""
    config = try_load_config(workdir)
    return 1 if config is None else population.size(config)


def run(json_path: str | None = None, out=None, err=None, **options) -> dict:
    """`evaluate(**options)`, then prints the report's warnings and table; writes JSON if asked.

    A population's workdir without `member` is evaluated member by member, then summarised as
    mean ± std (the JSON then has `members` and `summary`). Returns the report.
    """
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    start = time.perf_counter()
    n = population_size(options.get("workdir")) if options.get("member") is None else 1
    # a population's checkpoint is restored once, for all its members
    members = (Run.open_members(_training_workdir(options["workdir"]), options.get("raw_g", False))
               if n > 1 else [None])
    reports = []
    for member, opened in zip(range(n) if n > 1 else [options.get("member")], members,
                              strict=True):
        report = evaluate(log=lambda message: print(message, file=err, flush=True),
                          **(options | {"member": member, "opened": opened}))
        _print_report(report, out, err)
        reports.append(report)
    if n > 1:
        report = {"members": reports, "summary": summarize(reports),
                  "seconds": time.perf_counter() - start}
        print(f"\n{options['workdir']}: {n} members, mean ± std (sample std):", file=out)
        print(format_summary(report["summary"]), file=out)
    print(f"evaluated in {report['seconds']:.1f} s", file=err)
    if json_path:
        write_atomic(Path(json_path).expanduser(), json.dumps(report, indent=2) + "\n")
    return report
