"""Reference features and statistics, computed once per (extractor weights, reference images).

An entry holds the reference's features, their mean and covariance, and the squared k-NN radii that
precision/recall/density/coverage need, in `<cache>/reference/<extractor>-<key>.npz` (cache =
`$JAXGAN_CACHE`, default `~/.cache/jaxgan`). The key hashes the extractor's weight fingerprint, the
reference images' bytes and the k values, so a different network or data set never hits a stale
entry. Each entry stores a SHA-256 of its own arrays; one that fails to load or to verify is
rebuilt and overwritten, never trusted.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from jaxgan import files
from jaxgan.eval.features import Extractor
from jaxgan.eval.fid import feature_statistics
from jaxgan.eval.prdc import DEFAULT_BLOCK_SIZE, knn_sq_radii
from jaxgan.files import npz_bytes, sha256_arrays, write_atomic

FORMAT_VERSION = 1


def images_fingerprint(images: np.ndarray) -> str:
    """SHA-256 of an image array's dtype, shape and bytes."""
    return sha256_arrays([(None, images)])


def entry_key(extractor: Extractor, images_sha256: str, ks: Sequence[int]) -> str:
    """The cache key of a reference entry."""
    text = (
        f"v{FORMAT_VERSION}|{extractor.name}|{extractor.fingerprint}|{images_sha256}|{sorted(ks)}"
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _arrays_checksum(arrays: dict[str, np.ndarray]) -> str:
    return sha256_arrays((name, arrays[name]) for name in sorted(arrays))


def compute_reference(
    extractor: Extractor,
    images: np.ndarray,
    ks: Sequence[int] = (3, 5),
    block_size: int = DEFAULT_BLOCK_SIZE,
) -> dict[str, np.ndarray]:
    """features, mu, sigma and `sq_radii_k<k>` of the reference images (no caching)."""
    features = extractor.extract(images)["features"]
    mu, sigma = feature_statistics(features)
    arrays = {"features": features, "mu": mu, "sigma": sigma}
    for k, radii in knn_sq_radii(features, ks, block_size).items():
        arrays[f"sq_radii_k{k}"] = radii
    return arrays


def _read_entry(path: Path, key: str, ks: Sequence[int]) -> dict[str, np.ndarray]:
    """The verified arrays of an entry; ValueError or OSError unless exactly what was saved."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    checksum = str(arrays.pop("checksum", ""))
    if checksum != _arrays_checksum(arrays):
        raise ValueError("checksum mismatch")
    if str(arrays.get("key", "")) != key:
        raise ValueError("entry belongs to another key")
    missing = {"features", "mu", "sigma", *(f"sq_radii_k{k}" for k in ks)} - set(arrays)
    if missing:
        raise ValueError(f"missing arrays {sorted(missing)}")
    arrays.pop("key")
    return arrays


def _write_entry(path: Path, key: str, arrays: dict[str, np.ndarray]) -> None:
    stored = {**arrays, "key": np.array(key)}
    stored["checksum"] = np.array(_arrays_checksum(stored))
    write_atomic(path, npz_bytes(stored))


def load_or_build(
    extractor: Extractor,
    images: np.ndarray,
    cache_dir: str | os.PathLike | None = None,
    ks: Sequence[int] = (3, 5),
    block_size: int = DEFAULT_BLOCK_SIZE,
    log: Callable[[str], None] = lambda message: None,
) -> tuple[dict[str, np.ndarray], str]:
    """Reference arrays from the cache, or computed and stored; also "hit", "built" or "rebuilt"."""
    key = entry_key(extractor, images_fingerprint(images), ks)
    path = files.cache_dir(cache_dir) / "reference" / f"{extractor.name}-{key[:32]}.npz"
    status = "built"
    if path.exists():
        try:
            arrays = _read_entry(path, key, ks)
            log(f"reference {extractor.name} features: cached ({path})")
            return arrays, "hit"
        except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile) as error:
            log(
                f"reference {extractor.name} features: corrupt cache entry {path} ({error}); "
                "rebuilding"
            )
            status = "rebuilt"
    arrays = compute_reference(extractor, images, ks, block_size)
    try:
        _write_entry(path, key, arrays)
        log(f"reference {extractor.name} features: {status} and cached ({path})")
    except OSError as error:
        log(f"reference {extractor.name} features: {status}, not cached ({path}: {error})")
    return arrays, status
