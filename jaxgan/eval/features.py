"""Feature extractors by name: the network that turns images into the features metrics compare.

An `Extractor` bundles a name, a fingerprint of its weights (so cached reference features name the
exact network that made them), the image form it takes, and the extraction function. Registered:

* `classifier`: the committed MNIST CNN (`jaxgan.classifier`): 128-d penultimate features and
  class logits of gray 28×28 digits.
* `inception`: pytorch-fid's FID Inception-v3 (`jaxgan.eval.inception`): 2048-d pool3 features of
  images as read (gray replicated to RGB inside). Needs the weight file; raises
  `InceptionWeightsUnavailable`, whose message says how to supply it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import jax
import numpy as np

from jaxgan import classifier
from jaxgan.eval.inception import pool3_features
from jaxgan.eval.weights import load_inception_params
from jaxgan.files import sha256_arrays

GRAY = "gray"  # uint8 (N, 28, 28)
RGB = "rgb"  # uint8 (N, H, W) or (N, H, W, 1|3), as read


@dataclass(frozen=True)
class Extractor:
    """`extract(images)` returns {"features": float32 (N, D)} plus, for classifiers, "logits"."""

    name: str
    fingerprint: str
    image_form: str
    extract: Callable[[np.ndarray], dict[str, np.ndarray]]


def params_fingerprint(params: Mapping) -> str:
    """SHA-256 over every leaf's path, dtype, shape and bytes, in sorted path order."""
    leaves = jax.tree_util.tree_flatten_with_path(params)[0]
    return sha256_arrays(sorted(((jax.tree_util.keystr(path), np.asarray(leaf))
                                 for path, leaf in leaves), key=lambda item: item[0]))


def classifier_extractor(
    weights_path: str | None = None,
    expected_sha256: str | None = None,
    progress: bool | None = None,
) -> Extractor:
    """The MNIST CNN from `weights_path` (default: the committed, SHA-256-checked weights)."""
    if weights_path is None:
        params = classifier.load_params()
    else:
        params = classifier.load_params(weights_path, expected_sha256)

    def extract(images: np.ndarray) -> dict[str, np.ndarray]:
        features, logits = classifier.classify(params, images, progress=progress)
        return {"features": features, "logits": logits}

    return Extractor("classifier", params_fingerprint(params), GRAY, extract)


def inception_extractor(
    weights_path: str | None = None,
    cache_dir: str | None = None,
    download: bool = True,
    batch_size: int = 50,
    progress: bool | None = None,
) -> Extractor:
    """pytorch-fid's Inception pool3; raises InceptionWeightsUnavailable without the weights."""
    params = load_inception_params(weights_path, cache_dir=cache_dir, download=download)

    def extract(images: np.ndarray) -> dict[str, np.ndarray]:
        return {"features": pool3_features(params, images, batch_size, progress=progress)}

    return Extractor("inception", params_fingerprint(params), RGB, extract)


EXTRACTORS: dict[str, Callable[..., Extractor]] = {
    "classifier": classifier_extractor,
    "inception": inception_extractor,
}


def get_extractor(name: str, **options) -> Extractor:
    """The registered extractor `name`, built with its `options`."""
    if name not in EXTRACTORS:
        raise KeyError(f"unknown feature extractor {name!r}; known: {', '.join(EXTRACTORS)}")
    return EXTRACTORS[name](**options)
