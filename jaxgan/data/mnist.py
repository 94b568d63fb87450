"""MNIST from the four original IDX files: read, verify by MD5, download only when missing.

The files may be gzipped (`*-ubyte.gz`) or not (`*-ubyte`); their checksums are those of the
uncompressed bytes, as published. A missing file is fetched only when `download=True` and the
machine is online; a truncated or corrupt file raises `MnistError`, and nothing is ever overwritten.

A directory may instead hold a subset (the first N images of each split, as `write_subset` makes
for the test suite): its `subset.json` gives each file's size, MD5 and shape, which are checked in
place of the published ones; nothing is downloaded into such a directory.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import json
import os
import tempfile
import urllib.request
import zlib
from pathlib import Path

import numpy as np

DATA_DIR_ENV = "JAXGAN_DATA_DIR"
DEFAULT_DATA_DIR = Path("~/.cache/jaxgan/mnist")
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
DOWNLOAD_TIMEOUT_S = 30
SUBSET_MANIFEST = "subset.json"

# name -> (uncompressed bytes, md5 of the uncompressed file, IDX dims)
FILES = {
    "train-images-idx3-ubyte": (47040016, "6bbc9ace898e44ae57da46a324031adb", (60000, 28, 28)),
    "train-labels-idx1-ubyte": (60008, "a25bea736e30d166cdddb491f175f624", (60000,)),
    "t10k-images-idx3-ubyte": (7840016, "2646ac647ad5339dbf082846283269ea", (10000, 28, 28)),
    "t10k-labels-idx1-ubyte": (10008, "27ae3e4e09519cfbb04c329615203637", (10000,)),
}
SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

_FIX = "Replace it, or pass --data_dir=DIR with the four MNIST IDX files (or set $JAXGAN_DATA_DIR)."
# Errors of a broken gzip stream: BadGzipFile is an OSError, a bad deflate block is a zlib.error.
_READ_ERRORS = (OSError, EOFError, zlib.error)


class MnistError(ValueError):
    """A missing, truncated or corrupt MNIST file; the message names the file and the fix."""


class _NotOverwritten(MnistError):
    """The download target exists: stop at once rather than try the other mirrors."""


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """`data_dir`, else `$JAXGAN_DATA_DIR`, else `~/.cache/jaxgan/mnist`."""
    if data_dir:
        return Path(data_dir).expanduser()
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV]).expanduser()
    return DEFAULT_DATA_DIR.expanduser()


def _find(directory: Path, name: str) -> Path | None:
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _expected(spec: tuple) -> str:
    size, md5, _ = spec
    return f"expected {size} bytes uncompressed with MD5 {md5}"


def _read_bytes(path: Path, spec: tuple) -> bytes:
    """The uncompressed bytes, at most one more than expected (a gzip bomb cannot fill memory)."""
    limit = spec[0] + 1
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as f:
            return f.read(limit)
    except _READ_ERRORS as e:
        raise MnistError(f"{path}: cannot be read ({e}); {_expected(spec)}. {_FIX}") from e


def _check(
    where: str | os.PathLike, raw: bytes, name: str, fix: str = _FIX, spec: tuple | None = None
) -> None:
    """Raises `MnistError` naming `where` unless `raw` has the size and MD5 of `spec` (default:
    the published ones of `name`)."""
    spec = spec or FILES[name]
    size, md5, _ = spec
    if len(raw) != size:
        got = f"more than {size}" if len(raw) > size else str(len(raw))
        raise MnistError(
            f"{where}: {got} bytes uncompressed, {_expected(spec)} (truncated or not {name}). {fix}"
        )
    actual = hashlib.md5(raw).hexdigest()
    if actual != md5:
        raise MnistError(f"{where}: MD5 {actual}, expected {md5} (corrupt file). {fix}")


def _parse_idx(raw: bytes, dims: tuple[int, ...]) -> np.ndarray:
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if raw[:3] != b"\x00\x00\x08" or shape != dims:
        raise MnistError(f"IDX header says uint8 {shape}, expected {dims}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _make_dir(directory: Path) -> Path | None:
    """Creates `directory`; returns the topmost folder it created (None if it already existed)."""
    missing = [p for p in (directory, *directory.parents) if not p.exists()]
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise MnistError(
            f"{directory}: cannot be created ({e}). Pass --data_dir=DIR with the four MNIST IDX "
            f"files (or set ${DATA_DIR_ENV})."
        ) from e
    return missing[-1] if missing else None


def _remove_empty(directory: Path, top: Path | None) -> None:
    """Removes the folders `_make_dir` created, bottom up, as long as they are empty."""
    if top is None:
        return
    for p in (directory, *directory.parents):
        try:
            p.rmdir()
        except OSError:
            return
        if p == top:
            return


def _download(url: str, out, limit: int) -> None:
    """Streams `url` into the open file `out`, refusing more than `limit` bytes."""
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as resp:
        total = 0
        while chunk := resp.read(1 << 20):
            total += len(chunk)
            if total > limit:
                raise MnistError(f"{url}: more than {limit} bytes, too large for MNIST")
            out.write(chunk)


def _publish(tmp: str, target: Path) -> None:
    """Moves `tmp` to `target` unless `target` exists; a hard link makes the check atomic."""
    appeared = f"{target}: appeared during the download; not overwritten"
    try:
        os.link(tmp, target)
    except FileExistsError as e:
        raise _NotOverwritten(appeared) from e
    except OSError:  # no hard links on this file system
        if target.exists():
            raise _NotOverwritten(appeared) from None
        os.replace(tmp, target)


def fetch(name: str, directory: Path, mirrors: tuple[str, ...] | None = None) -> Path:
    """Fetches `<name>.gz` into `directory`, checks its MD5, then moves it in place atomically.

    Tries each mirror in turn. A file already there (gzipped or not) is never overwritten, and a
    failed or rejected download leaves nothing behind, not even a folder this call created.
    """
    if name not in FILES:
        raise MnistError(f"unknown MNIST file {name!r}; valid: {', '.join(FILES)}")
    mirrors = MIRRORS if mirrors is None else mirrors
    directory = Path(directory)
    existing = _find(directory, name)
    if existing is not None:
        raise _NotOverwritten(
            f"{existing}: already exists; not overwritten (delete it to download it again)"
        )
    created = _make_dir(directory)
    target = directory / f"{name}.gz"
    size = FILES[name][0]
    errors = []
    for mirror in mirrors:
        url = f"{mirror}{name}.gz"
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                _download(url, out, limit=size + (1 << 20))
            with gzip.open(tmp, "rb") as f:
                raw = f.read(size + 1)
            _check(url, raw, name, fix="rejected")
            _publish(tmp, target)
            return target
        except _NotOverwritten:
            raise
        except MnistError as e:
            errors.append(str(e))
        except (*_READ_ERRORS, http.client.HTTPException, ValueError) as e:
            errors.append(f"{url}: {e}")
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    _remove_empty(directory, created)
    raise MnistError(
        f"{directory / name}[.gz]: missing, and the download failed "
        f"({'; '.join(errors) or 'no mirrors given'}). "
        f"Pass --data_dir=DIR with the four MNIST IDX files (or set ${DATA_DIR_ENV})."
    )


def subset_specs(directory: Path) -> dict[str, tuple] | None:
    """name -> (bytes, md5, shape) from `directory/subset.json`, or None when there is none."""
    manifest = Path(directory) / SUBSET_MANIFEST
    if not manifest.is_file():
        return None
    try:
        files = json.loads(manifest.read_text())["files"]
        specs = {
            name: (int(f["bytes"]), str(f["md5"]), tuple(map(int, f["shape"])))
            for name, f in files.items()
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise MnistError(f"{manifest}: not a readable subset manifest ({e!r})") from e
    if set(specs) != set(FILES):
        raise MnistError(f"{manifest}: must describe exactly the files {', '.join(FILES)}")
    return specs


def _load_file(
    directory: Path, name: str, download_missing: bool, subset: dict | None
) -> np.ndarray:
    path = _find(directory, name)
    if path is None:
        if not download_missing or subset is not None:
            raise MnistError(
                f"{directory / name}[.gz]: not found. Pass --data_dir=DIR with the four MNIST IDX "
                f"files (or set ${DATA_DIR_ENV})."
            )
        path = fetch(name, directory)
    spec = subset[name] if subset is not None else FILES[name]
    raw = _read_bytes(path, spec)
    _check(path, raw, name, spec=spec)
    return _parse_idx(raw, spec[2])


def load_mnist(
    data_dir: str | os.PathLike | None = None, split: str = "train", download: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Returns `(images, labels)` of a split: uint8 (N, 28, 28) and uint8 (N,), checksummed."""
    if split not in SPLITS:
        raise MnistError(f"unknown split {split!r}; valid: {', '.join(SPLITS)}")
    directory = resolve_data_dir(data_dir)
    subset = subset_specs(directory)
    images_name, labels_name = SPLITS[split]
    return (
        _load_file(directory, images_name, download, subset),
        _load_file(directory, labels_name, download, subset),
    )


def write_subset(data_dir: str | os.PathLike | None, out: str | os.PathLike, sizes: dict) -> Path:
    """Writes the first `sizes[split]` images and labels of each split as gzipped IDX files in
    `out`, with the `subset.json` that `load_mnist` checks them against. Byte-identical output
    for the same input (gzip without a timestamp)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    manifest = {}
    for split, (images_name, labels_name) in SPLITS.items():
        images, labels = load_mnist(data_dir, split, download=False)
        n = int(sizes[split])
        for name, array, magic in ((images_name, images[:n], 3), (labels_name, labels[:n], 1)):
            header = bytes([0, 0, 8, magic]) + b"".join(
                d.to_bytes(4, "big") for d in array.shape
            )
            raw = header + np.ascontiguousarray(array, np.uint8).tobytes()
            (out / f"{name}.gz").write_bytes(gzip.compress(raw, 9, mtime=0))
            manifest[name] = {
                "bytes": len(raw),
                "md5": hashlib.md5(raw).hexdigest(),
                "shape": list(array.shape),
            }
    (out / SUBSET_MANIFEST).write_text(json.dumps({"files": manifest}, indent=2) + "\n")
    return out
