"""File helpers every layer shares: atomic writes, array fingerprints and the cache directory."""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

CACHE_ENV = "JAXGAN_CACHE"
DEFAULT_CACHE_DIR = Path("~/.cache/jaxgan")


def cache_dir(explicit: str | os.PathLike | None = None) -> Path:
    """`explicit` (a non-empty path), else `$JAXGAN_CACHE`, else `~/.cache/jaxgan`."""
    if explicit:
        return Path(explicit).expanduser()
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE_DIR).expanduser()


def write_atomic(path: str | os.PathLike, data: bytes | str, fsync: bool = False,
                 mode: int = 0o644) -> None:
    """Writes `data` to `path` through a temporary file beside it and a rename, so a reader (or
    a crash) sees the old file or the new one, never a part; `fsync` also flushes it to disk.
    The folder is created; the temporary file never outlives a failure."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data.encode() if isinstance(data, str) else data)
            if fsync:
                file.flush()
                os.fsync(file.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def npz_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
    """`np.savez` of `arrays`, as bytes (for `write_atomic`)."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def sha256_arrays(named: Iterable[tuple[str | None, np.ndarray]]) -> str:
    """Hex SHA-256 over arrays in the given order: for each, `name|` (when it has one), then
    `dtype|shape|` and its C-order bytes, so equal values of another dtype or shape differ."""
    digest = hashlib.sha256()
    for name, array in named:
        array = np.ascontiguousarray(array)
        prefix = "" if name is None else f"{name}|"
        digest.update(f"{prefix}{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()
