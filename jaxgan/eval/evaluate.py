"""Scores a set of generated images against a reference set, on arrays: the metrics of
`bin/evaluate.py`, with nothing of training, runs or workdirs.

For every extractor (`classifier`, `inception`): the Fréchet distance of the features' Gaussians,
precision and recall (k = 3) and density and coverage (k = 5) (metrics.md §0, §5); for the
classifier also the predicted-class histogram, the modes covered (classes with ≥ 1% of samples),
KL(histogram ‖ uniform) and the mean confidence. Reference features are cached
(`jaxgan.eval.reference_cache`). Below `SMALL_N` images a set is still scored, with a warning,
since FID and precision/recall are biased at small N.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from jaxgan.classifier import label_metrics
from jaxgan.eval import reference_cache
from jaxgan.eval.features import GRAY, Extractor, get_extractor
from jaxgan.eval.fid import feature_statistics, frechet_distance
from jaxgan.eval.prdc import DEFAULT_BLOCK_SIZE, manifold_metrics
from jaxgan.eval.sources import EvaluationError, ImageSet
from jaxgan.eval.weights import InceptionWeightsUnavailable

K_PR = 3
K_DC = 5
EXTRACTOR_NAMES = ("classifier", "inception")
METRIC_K = {"precision": K_PR, "recall": K_PR, "density": K_DC, "coverage": K_DC}
SMALL_N = 10000


def build_extractors(features: Sequence[str] | None = None, inception_weights: str | None = None,
               cache_dir: str | None = None, download_inception: bool = True
               ) -> dict[str, Extractor]:
    """name -> Extractor. `features` None means the classifier, and Inception too when
    `inception_weights` is given; one that cannot be built (no Inception weights) is an
    EvaluationError, not a row left out."""
    if features is None:
        features = ["classifier"] + (["inception"] if inception_weights is not None else [])
    features = [name.strip() for name in features if name.strip()]
    unknown = sorted(set(features) - set(EXTRACTOR_NAMES))
    if unknown or not features:
        raise EvaluationError(
            f"unknown or no feature extractors {unknown}; choose from {', '.join(EXTRACTOR_NAMES)}"
        )
    extractors = {}
    for name in features:
        if name == "inception":
            try:
                extractors[name] = get_extractor(
                    name,
                    weights_path=inception_weights,
                    cache_dir=cache_dir,
                    download=download_inception,
                )
            except InceptionWeightsUnavailable as e:
                why = " ".join(line.strip() for line in str(e).splitlines())
                raise EvaluationError(f"{name}: {why}") from e
        else:
            extractors[name] = get_extractor(name)
    return extractors


def wants_rgb(extractors: dict[str, Extractor]) -> bool:
    """Whether an extractor reads images as read (RGB), not the gray 28×28 form."""
    return any(e.image_form != GRAY for e in extractors.values())


def evaluate(real: ImageSet, fake: ImageSet, extractors: dict[str, Extractor],
             cache_dir: str | None = None, block_size: int = DEFAULT_BLOCK_SIZE,
             log: Callable[[str], None] = lambda message: None) -> dict:
    """`fake` scored against `real` by each extractor: a JSON-ready report with `rows` (metric,
    value, n_real, n_fake, extractor, k), `metrics` per extractor, `cache` (extractor ->
    hit/built/rebuilt), `warnings`, and the two sets' descriptions and sizes."""
    for images in (fake, real):
        if len(images) <= max(K_PR, K_DC):
            raise EvaluationError(f"{images.description}: need more than {max(K_PR, K_DC)} "
                                  "images")
    warnings = [
        f"{what} has {n} images (< {SMALL_N}): FID and precision/recall are biased at small N; "
        "compare only scores of equal N"
        for what, n in (("the sample set", len(fake)), ("the reference", len(real)))
        if n < SMALL_N
    ]
    rows, metrics, cache = [], {}, {}
    for name, extractor in extractors.items():
        values, cache[name] = extractor_metrics(extractor, real, fake, cache_dir, block_size, log)
        metrics[name] = values
        for metric, value in values.items():
            rows.append(_row(metric, value, len(real), len(fake), name, METRIC_K.get(metric)))
    return {"samples": fake.description, "reference": real.description, "n_real": len(real),
            "n_fake": len(fake), "rows": rows, "metrics": metrics, "cache": cache,
            "warnings": warnings}


def _row(metric: str, value, n_real: int, n_fake: int, extractor: str, k: int | None) -> dict:
    return {
        "metric": metric,
        "value": value,
        "n_real": n_real,
        "n_fake": n_fake,
        "extractor": extractor,
        "k": k,
    }


def extractor_metrics(
    extractor: Extractor,
    reference: ImageSet,
    samples: ImageSet,
    cache_dir: str | None = None,
    block_size: int = DEFAULT_BLOCK_SIZE,
    log: Callable[[str], None] = lambda message: None,
) -> tuple[dict, str]:
    """All metrics of one extractor, and the reference cache status ("hit"/"built"/"rebuilt")."""
    real, status = reference_cache.load_or_build(
        extractor, reference.form(extractor.image_form), cache_dir, (K_PR, K_DC), block_size, log
    )
    return score(extractor, real, samples.form(extractor.image_form), block_size), status


def score(extractor: Extractor, real: dict, images: np.ndarray,
          block_size: int = DEFAULT_BLOCK_SIZE) -> dict:
    """The metrics of `images` (in the extractor's form) against a reference's features and
    statistics (`reference_cache.load_or_build`): FD, precision/recall, density/coverage, and the
    class histogram's where the extractor has logits."""
    outputs = extractor.extract(images)
    mu, sigma = feature_statistics(outputs["features"])
    metrics = {"frechet_distance": frechet_distance(real["mu"], real["sigma"], mu, sigma)}
    radii = {K_PR: real[f"sq_radii_k{K_PR}"], K_DC: real[f"sq_radii_k{K_DC}"]}
    metrics.update(
        manifold_metrics(real["features"], outputs["features"], K_PR, K_DC, block_size, radii)
    )
    if "logits" in outputs:
        metrics.update(label_metrics(outputs["logits"]))
    return metrics
