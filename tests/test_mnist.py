"""Tests of jaxgan.data.mnist on the real IDX files, damaged copies, and a local HTTP server.

Downloads only ever go to a server on 127.0.0.1 started here; no external address is contacted.
Most tests run on the committed subset, with its checksums standing in for the published ones
(`data_dir`); those of the full files need `$JAXGAN_DATA_DIR` (`full_mnist`).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import os
import re
import socket
import sys
import threading
import types
from pathlib import Path

import numpy as np
import pytest

from jaxgan.data import mnist
from jaxgan.data.mnist import FILES, MnistError, fetch, load_mnist, resolve_data_dir

LABELS = "t10k-labels-idx1-ubyte"
IMAGES = "t10k-images-idx3-ubyte"


@pytest.fixture
def data_dir(small_mnist, monkeypatch) -> Path:
    """The committed subset, its sizes and MD5s taking the place of the published ones."""
    monkeypatch.setattr(mnist, "FILES", mnist.subset_specs(small_mnist))
    return small_mnist




def _raw(data_dir: Path, name: str) -> bytes:
    """The uncompressed bytes of an IDX file, gzipped or not."""
    if (data_dir / name).is_file():
        return (data_dir / name).read_bytes()
    return gzip.decompress((data_dir / f"{name}.gz").read_bytes())


def _closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Any download not pointed at a local server fails here instead of leaving the machine."""
    monkeypatch.setattr(mnist, "MIRRORS", (f"http://127.0.0.1:{_closed_port()}/",))
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setenv("NO_PROXY", "*")


def _snapshot(directory: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in directory.iterdir()}


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("split, n", [("train", 60000), ("test", 10000)])
def test_real_files(full_mnist, split, n):
    images, labels = load_mnist(full_mnist, split=split, download=False)
    assert images.shape == (n, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (n,) and labels.dtype == np.uint8
    assert labels.min() == 0 and labels.max() == 9
    assert len(np.unique(labels)) == 10
    assert images.max() == 255 and images.min() == 0


def test_uncompressed_and_gzipped_agree(data_dir, tmp_path):
    for name in (IMAGES, LABELS):
        (tmp_path / name).write_bytes(_raw(data_dir, name))
    images, labels = load_mnist(tmp_path, split="test", download=False)
    ref_images, ref_labels = load_mnist(data_dir, split="test", download=False)
    np.testing.assert_array_equal(images, ref_images)
    np.testing.assert_array_equal(labels, ref_labels)
    # Mixed: one file gzipped, the other not.
    (tmp_path / LABELS).unlink()
    (tmp_path / f"{LABELS}.gz").write_bytes(gzip.compress(_raw(data_dir, LABELS)))
    np.testing.assert_array_equal(load_mnist(tmp_path, "test", download=False)[1], ref_labels)


def test_resolve_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("JAXGAN_DATA_DIR", str(tmp_path / "env"))
    assert resolve_data_dir(tmp_path / "arg") == tmp_path / "arg"
    assert resolve_data_dir() == tmp_path / "env"
    monkeypatch.delenv("JAXGAN_DATA_DIR")
    assert resolve_data_dir() == Path("~/.cache/jaxgan/mnist").expanduser()


def test_env_var_is_used(monkeypatch, data_dir):
    monkeypatch.setenv("JAXGAN_DATA_DIR", str(data_dir))
    assert load_mnist(split="test", download=False)[0].shape == (1000, 28, 28)


def test_unknown_split(data_dir):
    with pytest.raises(MnistError, match="valid: train, test"):
        load_mnist(data_dir, split="validation", download=False)


# ---------------------------------------------------------------------------------------------
# Damaged files: a clear error naming the file, what was expected and --data_dir; file untouched
# ---------------------------------------------------------------------------------------------


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


def _damaged(data_dir: Path, kind: str) -> tuple[str, bytes, str]:
    """(file name, content, regex the error must match) for one kind of damage."""
    size, md5, _ = mnist.FILES[LABELS]
    raw = _raw(data_dir, LABELS)
    gz = gzip.compress(raw)
    return {
        "truncated": (LABELS, raw[:500], rf"500 bytes uncompressed, expected {size} bytes"),
        "flipped": (LABELS, _flip(raw, 500), rf"MD5 [0-9a-f]{{32}}, expected {md5}"),
        "truncated-gz": (f"{LABELS}.gz", gz[: len(gz) // 2], rf"expected {size} bytes .*{md5}"),
        "flipped-gz": (f"{LABELS}.gz", _flip(gz, len(gz) // 2), rf"expected .*{md5}"),
        "too-long": (LABELS, raw + b"\0", rf"more than {size} bytes uncompressed"),
    }[kind]


@pytest.mark.parametrize("kind", ["truncated", "flipped", "truncated-gz", "flipped-gz", "too-long"])
def test_damaged_file_raises_and_is_kept(data_dir, tmp_path, kind):
    name, content, expected = _damaged(data_dir, kind)
    (tmp_path / IMAGES).write_bytes(_raw(data_dir, IMAGES))
    (tmp_path / name).write_bytes(content)
    before = _snapshot(tmp_path)
    # download=True too: a damaged file is reported, never replaced by a download.
    for download in (False, True):
        with pytest.raises(MnistError, match=expected) as info:
            load_mnist(tmp_path, split="test", download=download)
        message = str(info.value)
        assert str(tmp_path / name) in message
        assert "--data_dir" in message
    assert _snapshot(tmp_path) == before


def test_missing_file_without_download(data_dir, tmp_path):
    (tmp_path / IMAGES).write_bytes(_raw(data_dir, IMAGES))
    with pytest.raises(MnistError, match="not found") as info:
        load_mnist(tmp_path, split="test", download=False)
    assert str(tmp_path / LABELS) in str(info.value)
    assert "--data_dir" in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == [IMAGES]


# ---------------------------------------------------------------------------------------------
# Downloads from a local HTTP server
# ---------------------------------------------------------------------------------------------


class _Server:
    """A static file server on 127.0.0.1 in a thread; records the paths requested."""

    def __init__(self, root: Path):
        self.root = root
        self.requests: list[str] = []
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                server.requests.append(self.path)
                super().do_GET()

        self.httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(Handler, directory=str(root))
        )
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def server(tmp_path, data_dir):
    """Serves gzipped test-split files (of the committed subset) under good/, and damaged ones."""
    root = tmp_path / "www"
    for sub in ("good", "corrupt", "truncated", "empty"):
        (root / sub).mkdir(parents=True)
    for name in (IMAGES, LABELS):
        (root / "good" / f"{name}.gz").write_bytes(gzip.compress(_raw(data_dir, name), 1))
    raw = _raw(data_dir, LABELS)
    (root / "corrupt" / f"{LABELS}.gz").write_bytes(gzip.compress(_flip(raw, 100)))
    gz = gzip.compress(raw)
    (root / "truncated" / f"{LABELS}.gz").write_bytes(gz[: len(gz) - 100])
    s = _Server(root)
    yield s
    s.close()


def test_fetch_downloads_and_checks(server, tmp_path):
    target = tmp_path / "cache"
    path = fetch(LABELS, target, mirrors=(server.url + "good/",))
    assert path == target / f"{LABELS}.gz"
    assert hashlib.md5(gzip.decompress(path.read_bytes())).hexdigest() == mnist.FILES[LABELS][1]
    assert sorted(p.name for p in target.iterdir()) == [f"{LABELS}.gz"]
    assert server.requests == [f"/good/{LABELS}.gz"]


def test_load_mnist_downloads_missing_files(server, tmp_path, monkeypatch, data_dir):
    monkeypatch.setattr(mnist, "MIRRORS", (server.url + "good/",))
    target = tmp_path / "new" / "mnist"
    images, labels = load_mnist(target, split="test", download=True)
    ref_images, ref_labels = load_mnist(data_dir, split="test", download=False)
    np.testing.assert_array_equal(images, ref_images)
    np.testing.assert_array_equal(labels, ref_labels)
    assert sorted(p.name for p in target.iterdir()) == sorted(f"{n}.gz" for n in (IMAGES, LABELS))
    # A second load reads the local files and downloads nothing.
    n = len(server.requests)
    load_mnist(target, split="test", download=True)
    assert len(server.requests) == n


@pytest.mark.parametrize("bad", ["corrupt", "truncated", "empty"])
def test_bad_download_rejected_and_nothing_left(server, tmp_path, bad):
    target = tmp_path / "cache"
    target.mkdir()
    with pytest.raises(MnistError) as info:
        fetch(LABELS, target, mirrors=(server.url + f"{bad}/",))
    message = str(info.value)
    assert server.url in message and "--data_dir" in message
    if bad == "corrupt":
        assert f"expected {mnist.FILES[LABELS][1]}" in message
    assert list(target.iterdir()) == []


def test_falls_back_to_next_mirror(server, tmp_path):
    target = tmp_path / "cache"
    mirrors = (server.url + "empty/", server.url + "corrupt/", server.url + "good/")
    path = fetch(LABELS, target, mirrors=mirrors)
    assert hashlib.md5(gzip.decompress(path.read_bytes())).hexdigest() == mnist.FILES[LABELS][1]
    assert len(server.requests) == 3
    assert sorted(p.name for p in target.iterdir()) == [f"{LABELS}.gz"]


@pytest.mark.parametrize("existing", [LABELS, f"{LABELS}.gz"])
def test_existing_file_never_overwritten(server, tmp_path, existing):
    target = tmp_path / "cache"
    target.mkdir()
    (target / existing).write_bytes(b"not mnist")
    before = _snapshot(target)
    with pytest.raises(MnistError, match="not overwritten"):
        fetch(LABELS, target, mirrors=(server.url + "good/",))
    assert _snapshot(target) == before
    assert server.requests == []


def test_missing_directory_and_no_server(tmp_path, monkeypatch):
    url = f"http://127.0.0.1:{_closed_port()}/"
    monkeypatch.setattr(mnist, "MIRRORS", (url,))
    target = tmp_path / "absent" / "mnist"
    with pytest.raises(MnistError) as info:
        load_mnist(target, split="test", download=True)
    message = str(info.value)
    assert "download failed" in message and url in message
    assert "--data_dir" in message and str(target) in message
    assert not (tmp_path / "absent").exists()  # the folders it made are removed again
    assert list(tmp_path.iterdir()) == []


def test_partial_download_is_removed(tmp_path, monkeypatch, data_dir):
    """A download interrupted mid-stream leaves no .part file behind."""

    def broken(url, out, limit):
        out.write(b"\x1f\x8b partial")
        raise ConnectionResetError("connection reset mid-download")

    monkeypatch.setattr(mnist, "_download", broken)
    target = tmp_path / "cache"
    target.mkdir()
    with pytest.raises(MnistError, match="connection reset"):
        fetch(LABELS, target, mirrors=(f"http://127.0.0.1:{_closed_port()}/",))
    assert list(target.iterdir()) == []


def test_oversized_download_refused(tmp_path, server):
    """A server sending far more than the file's size is cut off, and nothing is kept."""
    big = server.root / "big"
    big.mkdir()
    with open(big / f"{LABELS}.gz", "wb") as f:
        f.write(os.urandom(mnist.FILES[LABELS][0] + (1 << 20) + 1))
    target = tmp_path / "cache"
    with pytest.raises(MnistError, match="too large"):
        fetch(LABELS, target, mirrors=(server.url + "big/",))
    assert not target.exists()


# ---------------------------------------------------------------------------------------------
# The optional TFDS loader (jaxgan.data.tfds): same output contract as load_mnist
# ---------------------------------------------------------------------------------------------


def test_tfds_missing_gives_install_hint(monkeypatch):
    from jaxgan.data.tfds import TfdsMissingError, load_tfds

    monkeypatch.setitem(sys.modules, "tensorflow_datasets", None)  # import fails even if installed
    with pytest.raises(TfdsMissingError, match=re.escape('pip install -e ".[tfds]"')):
        load_tfds("fashion_mnist", "train")
    assert issubclass(TfdsMissingError, ImportError)


def test_tfds_conversion_with_a_fake_module(monkeypatch, tmp_path):
    """Without TFDS installed, a stand-in module checks the call and the output conversion."""
    from jaxgan.data.tfds import load_tfds

    calls = []
    images = np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 4, 4, 1)
    fake = types.ModuleType("tensorflow_datasets")
    fake.load = lambda name, **kw: calls.append((name, kw)) or (images, np.array([3, 7]))
    fake.as_numpy = lambda x: x
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", fake)
    x, y = load_tfds("kmnist", "test", data_dir=tmp_path)
    assert x.shape == (2, 4, 4) and x.dtype == np.uint8  # grey channel squeezed, as MNIST
    np.testing.assert_array_equal(y, [3, 7])
    name, kw = calls[0]
    assert name == "kmnist" and kw["split"] == "test" and kw["data_dir"] == str(tmp_path)
    assert kw["batch_size"] == -1 and kw["as_supervised"] is True

    fake.load = lambda name, **kw: (np.zeros((2, 3), np.float32), np.zeros(2))
    with pytest.raises(ValueError, match="not a uint8 image dataset"):
        load_tfds("iris")


# ---------------------------------------------------------------------------------------------
# Subsets described by subset.json
# ---------------------------------------------------------------------------------------------


def test_committed_subset_is_the_start_of_mnist(small_mnist, tmp_path):
    images, labels = load_mnist(small_mnist, "train", download=False)
    assert images.shape == (2000, 28, 28) and labels.shape == (2000,)
    assert len(np.unique(labels)) == 10
    assert load_mnist(small_mnist, "test", download=False)[0].shape == (1000, 28, 28)
    # Remade from itself, the subset is byte-identical: gzip carries no timestamp.
    mnist.write_subset(small_mnist, tmp_path, {"train": 2000, "test": 1000})
    for path in small_mnist.iterdir():
        if path.name != "README.md":
            assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name


def test_subset_checksums_are_checked_and_nothing_is_downloaded(small_mnist, tmp_path):
    mnist.write_subset(small_mnist, tmp_path, {"train": 100, "test": 50})
    images, labels = load_mnist(tmp_path, "test")
    np.testing.assert_array_equal(images, load_mnist(small_mnist, "test")[0][:50])
    raw = bytearray(gzip.decompress((tmp_path / f"{IMAGES}.gz").read_bytes()))
    raw[-1] ^= 0xFF
    (tmp_path / f"{IMAGES}.gz").write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(MnistError, match="corrupt file"):
        load_mnist(tmp_path, "test")
    (tmp_path / f"{IMAGES}.gz").unlink()
    with pytest.raises(MnistError, match="not found"):
        load_mnist(tmp_path, "test", download=True)


def test_unreadable_subset_manifest_is_one_error(small_mnist, tmp_path):
    for name in FILES:
        (tmp_path / f"{name}.gz").write_bytes((small_mnist / f"{name}.gz").read_bytes())
    (tmp_path / mnist.SUBSET_MANIFEST).write_text("{not json")
    with pytest.raises(MnistError, match="subset manifest"):
        load_mnist(tmp_path, "test")
    (tmp_path / mnist.SUBSET_MANIFEST).write_text('{"files": {}}')
    with pytest.raises(MnistError, match="exactly the files"):
        load_mnist(tmp_path, "test")
