"""Where the tests find MNIST and the reference fixtures of `../shared`.

MNIST: `$JAXGAN_DATA_DIR`, else `<shared>/data/mnist`; fixtures: `<shared>/fixtures`, with
`<shared>` = `$JAXGAN_SHARED_DIR`, else the `shared` folder beside the repository. A missing file
fails the tests that need it (with the variable to set) rather than skipping them: a skipped parity
test would pass for nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jaxgan.data.mnist import FILES

ROOT = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    return Path(os.environ.get("JAXGAN_SHARED_DIR") or ROOT.parent / "shared").expanduser()


def mnist_dir() -> Path:
    if os.environ.get("JAXGAN_DATA_DIR"):
        return Path(os.environ["JAXGAN_DATA_DIR"]).expanduser()
    return shared_dir() / "data" / "mnist"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The MNIST IDX directory; fails when its four files are not there."""
    d = mnist_dir()
    missing = [n for n in FILES if not ((d / n).is_file() or (d / f"{n}.gz").is_file())]
    if missing:
        pytest.fail(f"MNIST files {missing} not found in {d}; set $JAXGAN_DATA_DIR")
    return d


@pytest.fixture(scope="session")
def shared_fixture():
    """`shared_fixture(name)` -> the path of `<shared>/fixtures/name`; fails when it is missing."""

    def path(name: str) -> Path:
        p = shared_dir() / "fixtures" / name
        if not p.is_file():
            pytest.fail(f"{p} not found; set $JAXGAN_SHARED_DIR to the shared directory")
        return p

    return path
