"""Evaluate generated digits against a reference set: the library side of `bin/evaluate.py`.

Image sources (`--samples`, `--reference`):

* `mnist_train`, `mnist_test`: real MNIST digits. As samples, the first `num_samples` of the split
  in file order (so `mnist_train` is train[:N], the real-vs-real floor of metrics.md §7); as the
  reference, the whole split.
* a folder: the image files directly in it (bmp, jpg, jpeg, pgm, png, ppm, tif, tiff, webp; any
  case), sorted by name as pytorch-fid does, the first `num_samples` of them as samples, all of
  them as the reference. Any size or mode: for the classifier each is converted by Pillow to gray
  ("L") and, if it is not 28×28, resized bilinearly to 28×28; for Inception it is converted to RGB
  as read (all files must then share one size).
* a `.npz` file with an array `images`: (N, H, W), (N, H, W, C) or (N, C, H, W) with C in {1, 3};
  uint8 as is, other integers if within [0, 255], floats quantised like a PNG save,
  u8 = clip(floor(v·255 + 0.5), 0, 255) with v = x for floats in [0, 1] and v = (x + 1)/2 when any
  value is negative (floats in [-1, 1]). Same `num_samples` rule as folders.
* `workdir` (samples only): `num_samples` digits drawn with `seed` from the latest checkpoint of a
  training workdir (`jaxgan.generate.generate_images`), by the EMA of G where the run keeps one
  (G itself with `raw_g`); MNIST is then read from the run's own `data_dir` unless one is given.

A source with fewer images than asked for is scored on what it has; below `SMALL_N` images the
report carries a warning, since FID and precision/recall are biased at small N.

For every extractor (`classifier`, `inception`): the Fréchet distance of the features' Gaussians,
precision and recall (k = 3) and density and coverage (k = 5) (metrics.md §0, §5); for the
classifier also the predicted-class histogram, the modes covered (classes with ≥ 1% of samples),
KL(histogram ‖ uniform) and the mean confidence. Reference features are cached
(`jaxgan.eval.reference_cache`).
"""

from __future__ import annotations

import json
import math
import sys
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from jaxgan.data.mnist import load_mnist
from jaxgan.eval import reference_cache
from jaxgan.eval.classifier import IMAGE_SHAPE, label_metrics
from jaxgan.eval.features import GRAY, Extractor, get_extractor
from jaxgan.eval.fid import feature_statistics, frechet_distance
from jaxgan.eval.prdc import DEFAULT_BLOCK_SIZE, manifold_metrics

MNIST_SOURCES = {"mnist_train": "train", "mnist_test": "test"}
IMAGE_EXTENSIONS = (".bmp", ".jpg", ".jpeg", ".pgm", ".png", ".ppm", ".tif", ".tiff", ".webp")
K_PR = 3
K_DC = 5
EXTRACTOR_NAMES = ("classifier", "inception")
METRIC_K = {"precision": K_PR, "recall": K_PR, "density": K_DC, "coverage": K_DC}
SMALL_N = 10000


class EvaluationError(ValueError):
    """Bad evaluation input (missing or empty source, malformed array); the message says which."""


@dataclass(frozen=True)
class ImageSet:
    """Images in the two forms extractors take: gray (N, 28, 28) and as read (or None)."""

    description: str
    gray: np.ndarray
    rgb: np.ndarray | None

    def __len__(self) -> int:
        return self.gray.shape[0]

    def form(self, image_form: str) -> np.ndarray:
        if image_form == GRAY:
            return self.gray
        if self.rgb is None:
            raise EvaluationError(f"{self.description}: images as read were not loaded")
        return self.rgb


# ------------------------------------------------------------------------------------------------
# Loading and converting images.


def quantize(images: np.ndarray) -> np.ndarray:
    """uint8 images from uint8, integer [0, 255] or float [0, 1] / [-1, 1] arrays (module doc)."""
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images
    if images.size == 0:
        return images.astype(np.uint8)
    if np.issubdtype(images.dtype, np.integer):
        if images.min() < 0 or images.max() > 255:
            raise EvaluationError(
                f"integer images must lie in [0, 255], got [{images.min()}, {images.max()}]"
            )
        return images.astype(np.uint8)
    if not np.issubdtype(images.dtype, np.floating):
        raise EvaluationError(f"images must be uint8, integer or float, got dtype {images.dtype}")
    values = images.astype(np.float64)
    if not np.isfinite(values).all():
        raise EvaluationError("float images contain NaN or Inf")
    low, high = values.min(), values.max()
    tolerance = 1e-6
    if low < 0:
        if low < -1 - tolerance or high > 1 + tolerance:
            raise EvaluationError(
                f"float images with negatives must lie in [-1, 1], got [{low}, {high}]"
            )
        values = (values + 1) / 2
    elif high > 1 + tolerance:
        raise EvaluationError(
            f"float images must lie in [0, 1] or [-1, 1], got [{low}, {high}]; save uint8 instead"
        )
    return np.clip(np.floor(values * 255 + 0.5), 0, 255).astype(np.uint8)


def _channels_last(images: np.ndarray, name: str) -> np.ndarray:
    if images.ndim == 4 and images.shape[1] in (1, 3) and images.shape[-1] not in (1, 3):
        images = np.moveaxis(images, 1, -1)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[-1] != 3):
        raise EvaluationError(
            f"{name}: images must be (N, H, W), (N, H, W, 1|3) or (N, 1|3, H, W), "
            f"got shape {images.shape}"
        )
    return images


def to_gray28(images: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) for the classifier: Pillow "L" conversion and bilinear resize if needed."""
    if images.ndim == 3 and images.shape[1:] == IMAGE_SHAPE:
        return images
    from PIL import Image

    out = np.empty((images.shape[0], *IMAGE_SHAPE), np.uint8)
    for i, image in enumerate(images):
        out[i] = _gray28(Image.fromarray(image))
    return out


def _gray28(image) -> np.ndarray:
    from PIL import Image

    gray = image.convert("L")
    if gray.size != IMAGE_SHAPE[::-1]:
        gray = gray.resize(IMAGE_SHAPE[::-1], Image.BILINEAR)
    return np.asarray(gray, np.uint8)


def _load_folder(folder: Path, limit: int | None, want_rgb: bool) -> ImageSet:
    from PIL import Image, UnidentifiedImageError

    files = sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
    )
    if not files:
        raise EvaluationError(
            f"{folder}: no image files ({', '.join(e[1:] for e in IMAGE_EXTENSIONS)}) in the folder"
        )
    files = files[:limit]
    gray = np.empty((len(files), *IMAGE_SHAPE), np.uint8)
    rgb = []
    for i, path in enumerate(files):
        try:
            with Image.open(path) as image:
                image.load()
                gray[i] = _gray28(image)
                if want_rgb:
                    rgb.append(np.asarray(image.convert("RGB"), np.uint8))
        except (OSError, UnidentifiedImageError) as e:
            raise EvaluationError(f"{path}: not a readable image ({e})") from e
    if want_rgb and len({a.shape for a in rgb}) > 1:
        raise EvaluationError(f"{folder}: images differ in size; Inception needs one size")
    return ImageSet(f"{folder} ({len(files)} images)", gray, np.stack(rgb) if want_rgb else None)


def _load_npz(path: Path, limit: int | None, want_rgb: bool) -> ImageSet:
    if not zipfile.is_zipfile(path):
        raise EvaluationError(f"{path}: not an .npz archive (as written by numpy.savez)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = archive.files
            images = archive["images"] if "images" in names else None
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise EvaluationError(f"{path}: not a readable .npz file ({e})") from e
    if images is None:
        raise EvaluationError(
            f"{path}: no array named 'images' (found: {', '.join(names) or 'none'})"
        )
    images = _channels_last(quantize(images[:limit]), str(path))
    if images.shape[0] == 0:
        raise EvaluationError(f"{path}: 'images' holds no images")
    return ImageSet(
        f"{path} ({images.shape[0]} images)", to_gray28(images), images if want_rgb else None
    )


def load_images(
    source: str,
    num_samples: int | None = None,
    data_dir: str | None = None,
    want_rgb: bool = False,
) -> ImageSet:
    """Images from `mnist_train` / `mnist_test`, a folder or an .npz (module doc); at most
    `num_samples` of them (None: all)."""
    if source in MNIST_SOURCES:
        images, _ = load_mnist(data_dir, MNIST_SOURCES[source])
        images = images[:num_samples]
        return ImageSet(f"{source} ({images.shape[0]} images)", images, images)
    path = Path(source).expanduser()
    if path.is_dir():
        return _load_folder(path, num_samples, want_rgb)
    if path.is_file():
        if path.suffix.lower() != ".npz":
            raise EvaluationError(f"{path}: expected a folder of images or an .npz file")
        return _load_npz(path, num_samples, want_rgb)
    raise EvaluationError(
        f"{source}: no such folder or file (give a folder of images, an .npz with 'images', "
        f"or one of {', '.join(MNIST_SOURCES)})"
    )


def open_workdir(workdir: str, member: int | None = None, raw_g: bool = False):
    """The training run in `workdir` (`jaxgan.run.Run`: config and checkpoint read once), of one
    member of a population, sampled by G's EMA where the run keeps one, G itself with `raw_g`."""
    if not Path(workdir).expanduser().is_dir():
        raise EvaluationError(f"{workdir}: no such training workdir")
    from jaxgan.run import Run

    return Run.open(Path(workdir).expanduser(), member, raw_g)


def sample_run(run, num_samples: int, seed: int = 0) -> ImageSet:
    """`num_samples` digits of an opened run (`open_workdir`)."""
    from jaxgan.generate import generate_images

    images = np.asarray(generate_images(run, num_samples, seed=seed))
    return ImageSet(run.describe(images.shape[0], seed), images, images)


# ------------------------------------------------------------------------------------------------
# Metrics.


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
) -> dict:
    """Evaluates `samples` (or `workdir`, or its population's `member`) against `reference`;
    returns a JSON-ready report.

    `features` None means the classifier, and Inception too when `inception_weights` is given.
    An extractor asked for that cannot be built (no Inception weights) is an EvaluationError, not
    a row left out. The report has `rows` (metric, value, n_real, n_fake, extractor, k), `metrics`
    per extractor, `cache` (extractor -> hit/built/rebuilt), `warnings` and `seconds`.
    `num_reference` keeps the first N reference images (None: all). A `workdir` is sampled by
    the EMA of G where the run keeps one, by G itself with `raw_g`.
    """
    start = time.perf_counter()
    if features is None:
        features = ["classifier"] + (["inception"] if inception_weights is not None else [])
    features = [name.strip() for name in features if name.strip()]
    unknown = sorted(set(features) - set(EXTRACTOR_NAMES))
    if unknown or not features:
        raise EvaluationError(
            f"unknown or no feature extractors {unknown}; choose from {', '.join(EXTRACTOR_NAMES)}"
        )
    if (samples is None) == (workdir is None):
        raise EvaluationError("give exactly one of --samples and --workdir")
    if num_samples <= max(K_PR, K_DC):
        raise EvaluationError(f"--num_samples must exceed {max(K_PR, K_DC)}, got {num_samples}")
    if num_reference is not None and num_reference <= max(K_PR, K_DC):
        raise EvaluationError(f"--num_reference must exceed {max(K_PR, K_DC)}, got {num_reference}")
    from jaxgan.eval.toy import toy_points, toy_report

    run = None if workdir is None else open_workdir(workdir, member, raw_g)
    toy = toy_points(samples, run, num_samples, seed)
    if toy is not None:
        return toy_report(*toy) | {"seconds": time.perf_counter() - start}
    if run is not None and data_dir is None:
        data_dir = run.config.get("data_dir") or None

    extractors = {}
    for name in features:
        if name == "inception":
            from jaxgan.eval.weights import InceptionWeightsUnavailable

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
    want_rgb = any(e.image_form != GRAY for e in extractors.values())

    fake = (
        load_images(samples, num_samples, data_dir, want_rgb)
        if samples is not None
        else sample_run(run, num_samples, seed)
    )
    if len(fake) <= max(K_PR, K_DC):
        raise EvaluationError(f"{fake.description}: need more than {max(K_PR, K_DC)} images")
    real = load_images(reference, num_reference, data_dir, want_rgb)
    if len(real) <= max(K_PR, K_DC):
        raise EvaluationError(f"{real.description}: need more than {max(K_PR, K_DC)} images")

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
    clusters = components = None
    if run is not None:
        from jaxgan.generate import component_agreement, encoder_clustering

        clusters = encoder_clustering(run, data_dir)
        components = component_agreement(run, seed=seed)
    return {
        "clustering": clusters,
        "components": components,
        "samples": fake.description,
        "reference": real.description,
        "n_real": len(real),
        "n_fake": len(fake),
        "rows": rows,
        "metrics": metrics,
        "cache": cache,
        "warnings": warnings,
        "seconds": time.perf_counter() - start,
    }


def _format_value(value) -> str:
    if isinstance(value, list):
        return "/".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:.4f}" if math.isfinite(value) and abs(value) < 1e6 else f"{value:.6g}"
    return str(value)


def format_table(report: dict) -> str:
    """The report's rows as one aligned text table."""
    header = ("metric", "value", "N real", "N fake", "extractor", "k")
    body = [
        (
            r["metric"],
            _format_value(r["value"]),
            str(r["n_real"]),
            str(r["n_fake"]),
            r["extractor"],
            "-" if r["k"] is None else str(r["k"]),
        )
        for r in report["rows"]
    ]
    widths = [max(len(line[i]) for line in (header, *body)) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in (header, *body)
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


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


def run(json_path: str | None = None, out=None, err=None, **options) -> dict:
    """`evaluate(**options)`, then prints the report's warnings and table; writes JSON if asked.

    A population's workdir without `member` is evaluated member by member, then summarised as
    mean ± std (the JSON then has `members` and `summary`). Returns the report.
    """
    from jaxgan.eval.summary import format_summary, population_size, summarize

    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    start = time.perf_counter()
    n = population_size(options.get("workdir")) if options.get("member") is None else 1
    reports = []
    for member in range(n) if n > 1 else [options.get("member")]:
        report = evaluate(log=lambda message: print(message, file=err, flush=True),
                          **(options | {"member": member}))
        _print_report(report, out, err)
        reports.append(report)
    if n > 1:
        report = {"members": reports, "summary": summarize(reports),
                  "seconds": time.perf_counter() - start}
        print(f"\n{options['workdir']}: {n} members, mean ± std (sample std):", file=out)
        print(format_summary(report["summary"]), file=out)
    print(f"evaluated in {report['seconds']:.1f} s", file=err)
    if json_path:
        path = Path(json_path).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2) + "\n")
    return report
