"""In-loop evaluation: the scorer `train_and_evaluate` calls on a G's samples every
`config.eval_every` epochs.

On MNIST: the classifier metrics (FD, precision, recall, density, coverage, modes, class KL)
against the test set, whose features come from the reference cache, read once per run. On a 2-D
toy: its mode metrics. This module sits above `eval/` and the training loop, which receives the
scorer as a function and so imports nothing of `eval/`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from jaxgan import datasets
from jaxgan.data import toy2d
from jaxgan.eval.evaluate import K_DC, K_PR, score
from jaxgan.eval.features import get_extractor
from jaxgan.eval.reference_cache import load_or_build
from jaxgan.pixels import digits

Scorer = Callable[[np.ndarray], dict[str, float]]

# the metrics of a row, in the order tables and plots show them
IMAGE_METRICS = ("frechet_distance", "precision", "recall", "density", "coverage",
                 "modes_covered", "kl_uniform")
TOY_METRICS = ("modes_covered", "high_quality_fraction", "kl_to_uniform")


def evaluator(config, cache_dir: str | None = None,
              log: Callable[[str], None] = lambda message: None) -> Scorer | None:
    """The scorer of `config`'s run: samples (n, data_dim) as G draws them -> metric -> number;
    None when `config.eval_every` is 0. Reads the reference now, so that a missing test set
    stops the run before it trains."""
    if not config.get("eval_every", 0):
        return None
    dataset = datasets.get(config.dataset)
    if not dataset.is_image:
        return _toy_scorer(config.dataset)
    extractor = get_extractor("classifier")
    test_images, _ = dataset.load(config.data_dir or None, "test")
    reference, _ = load_or_build(extractor, test_images, cache_dir, (K_PR, K_DC), log=log)

    def scorer(samples: np.ndarray) -> dict[str, float]:
        metrics = score(extractor, reference, digits(samples))  # as bin/evaluate.py sees them
        return {m: float(metrics[m]) for m in IMAGE_METRICS}

    return scorer


def _toy_scorer(name: str) -> Scorer:
    def scorer(points: np.ndarray) -> dict[str, float]:
        metrics = toy2d.mode_metrics(np.asarray(points), name)
        return {m: float(metrics[m]) for m in TOY_METRICS}

    return scorer
