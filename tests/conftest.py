"""Where the tests find MNIST and the reference fixtures.

* `small_mnist`: `tests/data/mnist`, the first 2,000 train and 1,000 test images (always there);
* `full_mnist`: the whole of MNIST from `$JAXGAN_DATA_DIR`. Unset: the tests that need it skip,
  saying so. Set but missing files: they fail, so CI (which sets it) cannot pass for nothing;
* `shared_fixture(name)`: `tests/fixtures/name`, the reference values of pytorch-fid and prdc.

Compiled XLA programs are cached on disk for the session (a fresh temporary folder, shared with
the CLI subprocesses through the environment): many tests build the same step in new processes or
new Trainers, and a cache hit runs the very executable the first compile produced.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

if "JAX_COMPILATION_CACHE_DIR" not in os.environ:  # before jax is imported anywhere
    _CACHE = tempfile.mkdtemp(prefix="jaxgan-test-xla-cache-")
    os.environ["JAX_COMPILATION_CACHE_DIR"] = _CACHE
    os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
    os.environ["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] = "0"
else:
    _CACHE = None
# the reference features of in-loop evaluation (bin/train.py's default) and the evaluator's: a
# session folder, unless the caller chose one (CI sets $JAXGAN_CACHE), not ~/.cache
if os.environ.get("JAXGAN_CACHE"):
    _FEATURES = None
else:
    _FEATURES = tempfile.mkdtemp(prefix="jaxgan-test-cache-")
    os.environ["JAXGAN_CACHE"] = _FEATURES

import pytest

from jaxgan.data.mnist import DATA_DIR_ENV, FILES

TESTS = Path(__file__).resolve().parent
SMALL_MNIST = TESTS / "data" / "mnist"
FIXTURES = TESTS / "fixtures"


def _missing(directory: Path) -> list[str]:
    return [n for n in FILES if not any((directory / f).is_file() for f in (n, f"{n}.gz"))]


@pytest.fixture(scope="session")
def small_mnist() -> Path:
    """The committed MNIST subset (see tests/data/README.md)."""
    missing = _missing(SMALL_MNIST)
    if missing:
        pytest.fail(f"{SMALL_MNIST} lacks {missing}: the committed subset is damaged")
    return SMALL_MNIST


@pytest.fixture(scope="session")
def full_mnist() -> Path:
    """The full MNIST IDX directory of `$JAXGAN_DATA_DIR`; skips when the variable is unset."""
    if not os.environ.get(DATA_DIR_ENV):
        pytest.skip(f"needs the full MNIST: set ${DATA_DIR_ENV} to its four IDX files")
    directory = Path(os.environ[DATA_DIR_ENV]).expanduser()
    missing = _missing(directory)
    if missing:
        pytest.fail(f"${DATA_DIR_ENV}={directory} lacks the MNIST files {missing}")
    return directory


@pytest.fixture(scope="session")
def shared_fixture():
    """`shared_fixture(name)` -> the path of `tests/fixtures/name`; fails when it is missing."""

    def path(name: str) -> Path:
        p = FIXTURES / name
        if not p.is_file():
            pytest.fail(f"{p} not found: the committed fixtures are incomplete")
        return p

    return path


def pytest_sessionfinish(session, exitstatus):
    for folder in (_CACHE, _FEATURES):
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
