"""Weight file: PyTorch-free reader, hash check, npz cache, download from a local server."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import io
import pickle
import shutil
import socket
import struct
import threading
import time
import zipfile
from collections import OrderedDict
from pathlib import Path

import chex
import numpy as np
import pytest

from jaxgan.eval import inception, weights
from jaxgan.eval.inception import InceptionStateDictError
from jaxgan.eval.torch_legacy import MAGIC_NUMBER, PROTOCOL_VERSION, TorchFileError, load_state_dict

# --- a writer of torch.save's formats, independent of the reader under test ------------------


class _Global:
    """Pickles as the global `module.name` without importing it (torch need not exist)."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    def __call__(self, *args):  # pickle requires reduce functions to be callable
        raise AssertionError("only for pickling")


_REBUILD = _Global("torch._utils", "_rebuild_tensor_v2")
_STORAGE_TYPES = {
    np.dtype(np.float32): _Global("torch", "FloatStorage"),
    np.dtype(np.int64): _Global("torch", "LongStorage"),
}


class _Storage:
    def __init__(self, key: str, flat: np.ndarray):
        self.key, self.flat = key, flat


class _Tensor:
    """A tensor as torch pickles it: `_rebuild_tensor_v2(storage, offset, size, stride, ...)`."""

    def __init__(self, key: str, array: np.ndarray, fortran: bool = False):
        self.shape = array.shape
        self.storage = _Storage(key, array.ravel(order="F" if fortran else "C"))
        self.stride = tuple(
            int(np.prod(array.shape[:i] if fortran else array.shape[i + 1 :]))
            for i in range(array.ndim)
        )

    def __reduce__(self):
        return _REBUILD, (self.storage, 0, self.shape, self.stride, False, OrderedDict())


class _TorchPickler(pickle._Pickler):  # the pure-Python pickler lets a type pickle as a global
    dispatch = pickle._Pickler.dispatch.copy()

    def __init__(self, file, legacy: bool):
        super().__init__(file, protocol=2)
        self.legacy, self.storages = legacy, {}

    def _save_global_marker(self, obj: _Global) -> None:
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
        self.memoize(obj)

    dispatch[_Global] = _save_global_marker

    def persistent_id(self, obj):
        if not isinstance(obj, _Storage):
            return None
        self.storages[obj.key] = obj.flat
        pid = ("storage", _STORAGE_TYPES[obj.flat.dtype], obj.key, "cpu", obj.flat.size)
        return (*pid, None) if self.legacy else pid


def _tensors(state_dict, fortran_keys=()) -> OrderedDict:
    out = OrderedDict(
        (k, _Tensor(str(i), np.asarray(v), k in fortran_keys))
        for i, (k, v) in enumerate(state_dict.items())
    )
    out._metadata = OrderedDict([("", {"version": 1})])  # what nn.Module.state_dict() attaches
    return out


def write_legacy(path: Path, state_dict, fortran_keys=("fc.weight",), extra=None) -> Path:
    """What torch's `_legacy_save` writes for a state dict (see jaxgan.eval.torch_legacy)."""
    obj = _tensors(state_dict, fortran_keys)
    if extra is not None:
        obj["extra"] = extra
    sys_info = {"protocol_version": 1001, "little_endian": True, "type_sizes": {"long": 4}}
    with open(path, "wb") as file:
        for header in (MAGIC_NUMBER, PROTOCOL_VERSION, sys_info):
            pickle.dump(header, file, protocol=2)
        pickler = _TorchPickler(file, legacy=True)
        pickler.dump(obj)
        keys = sorted(pickler.storages)
        pickle.dump(keys, file, protocol=2)
        for key in keys:
            flat = pickler.storages[key]
            file.write(
                struct.pack("<q", flat.size) + flat.astype(flat.dtype.newbyteorder("<")).tobytes()
            )
    return path


def write_zip(path: Path, state_dict, fortran_keys=("fc.weight",)) -> Path:
    """What torch >= 1.6 `torch.save` writes: archive/data.pkl + archive/data/<key>."""
    buffer = io.BytesIO()
    pickler = _TorchPickler(buffer, legacy=False)
    pickler.dump(_tensors(state_dict, fortran_keys))
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", buffer.getvalue())
        archive.writestr("archive/byteorder", "little")
        for key, flat in pickler.storages.items():
            archive.writestr(
                f"archive/data/{key}", flat.astype(flat.dtype.newbyteorder("<")).tobytes()
            )
        archive.writestr("archive/version", "3\n")
    return path


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def state_dict() -> dict[str, np.ndarray]:
    return weights.seeded_state_dict()


@pytest.fixture(scope="module")
def params(state_dict) -> dict:
    return inception.params_from_torch_state_dict(state_dict)


@pytest.fixture(scope="module")
def legacy_file(tmp_path_factory, state_dict) -> Path:
    return write_legacy(tmp_path_factory.mktemp("pth") / weights.WEIGHTS_FILENAME, state_dict)


@pytest.fixture(scope="module")
def legacy_sha(legacy_file) -> str:
    return hashlib.sha256(legacy_file.read_bytes()).hexdigest()


def _assert_same_arrays(got: dict, want: dict) -> None:
    assert list(got) == list(want)
    for key, value in want.items():
        assert got[key].dtype == value.dtype and got[key].shape == value.shape, key
        np.testing.assert_array_equal(got[key], value, err_msg=key)


# --- the reader ------------------------------------------------------------------------------


def test_reader_reads_the_legacy_format(legacy_file, state_dict):
    got = load_state_dict(legacy_file)
    _assert_same_arrays(got, state_dict)  # fc.weight was stored column-major: strides honoured
    assert got["Conv2d_1a_3x3.bn.num_batches_tracked"].shape == ()


def test_reader_reads_the_zip_format(tmp_path, state_dict):
    _assert_same_arrays(load_state_dict(write_zip(tmp_path / "w.pth", state_dict)), state_dict)


@pytest.mark.parametrize("cut", [5, 200, 50_000, -1_000])
def test_truncated_file_names_the_file(tmp_path, legacy_file, cut):
    data = legacy_file.read_bytes()
    path = tmp_path / "cut.pth"
    path.write_bytes(data[:cut])
    with pytest.raises(TorchFileError, match=rf"{path}.*truncated"):
        load_state_dict(path)


def test_reader_refuses_arbitrary_globals(tmp_path, state_dict):
    class Evil:
        def __reduce__(self):
            return _Global("os", "system"), ("touch pwned",)

    small = {"a": state_dict["fc.bias"]}
    path = write_legacy(tmp_path / "evil.pth", small, fortran_keys=(), extra=Evil())
    with pytest.raises(TorchFileError, match="refusing to load global os.system"):
        load_state_dict(path)
    assert not Path("pwned").exists()


def test_reader_rejects_foreign_files(tmp_path):
    path = tmp_path / "list.pth"
    path.write_bytes(pickle.dumps(123, protocol=2) * 5)
    with pytest.raises(TorchFileError, match="magic number"):
        load_state_dict(path)


def test_reader_matches_torch_save(tmp_path):
    torch = pytest.importorskip("torch")
    module = torch.nn.Sequential(torch.nn.Conv2d(3, 4, (1, 3)), torch.nn.BatchNorm2d(4))
    sd = module.state_dict()
    sd["strided"] = torch.arange(12.0).reshape(3, 4).t()
    sd["sliced"] = torch.arange(10.0)[3:7]
    for new_format in (False, True):
        path = tmp_path / f"t{new_format}.pth"
        torch.save(sd, path, _use_new_zipfile_serialization=new_format)
        _assert_same_arrays(load_state_dict(path), {k: v.numpy() for k, v in sd.items()})
    # and the test writer above is what torch itself reads
    ours = {"x": np.arange(6, dtype=np.float32).reshape(2, 3), "n": np.array(3, np.int64)}
    for writer in (write_legacy, write_zip):
        loaded = torch.load(writer(tmp_path / "ours.pth", ours, ()), weights_only=True)
        _assert_same_arrays({k: v.numpy() for k, v in loaded.items()}, ours)


# --- load_inception_params: file, hash, cache -----------------------------------------------


def test_loads_converts_and_caches(tmp_path, legacy_file, legacy_sha, params, monkeypatch):
    cache = tmp_path / "cache"
    got = weights.load_inception_params(legacy_file, cache, sha256_prefix=legacy_sha[:8])
    chex.assert_trees_all_equal(got, params)
    npz = cache / f"pt_inception-{legacy_sha}.npz"
    assert npz.is_file() and not list(cache.glob("*.part"))
    # A second call uses the cached conversion, not the .pth reader.
    monkeypatch.setattr(weights, "load_state_dict", lambda path: pytest.fail("re-read the .pth"))
    chex.assert_trees_all_equal(
        weights.load_inception_params(legacy_file, cache, sha256_prefix=legacy_sha[:8]), params
    )


def test_loaded_weights_give_the_reference_features(
    tmp_path, legacy_file, legacy_sha, shared_fixture
):
    with np.load(shared_fixture("inception_parity.npz")) as data:
        digits, want = data["digits_u8"][:1], data["digits_pool3"][:1]
    loaded = weights.load_inception_params(legacy_file, tmp_path, sha256_prefix=legacy_sha[:8])
    got = inception.pool3_features(loaded, digits, batch_size=1)
    assert np.linalg.norm(got - want) / np.linalg.norm(want) < 1e-5


@pytest.mark.parametrize("damage", ["truncate", "flip", "wrong_keys"])
def test_corrupt_cached_npz_is_rebuilt(tmp_path, legacy_file, legacy_sha, params, damage):
    npz = tmp_path / f"pt_inception-{legacy_sha}.npz"
    weights.load_inception_params(legacy_file, tmp_path, sha256_prefix=legacy_sha[:8])
    data = bytearray(npz.read_bytes())
    if damage == "truncate":
        del data[len(data) // 2 :]
    elif damage == "flip":
        data[len(data) // 2] ^= 0xFF
    else:
        buffer = io.BytesIO()
        np.savez(buffer, **{"fc.bias": np.zeros(1008, np.float32)})
        data = bytearray(buffer.getvalue())
    npz.write_bytes(bytes(data))
    with pytest.warns(UserWarning, match="rebuilding"):
        got = weights.load_inception_params(legacy_file, tmp_path, sha256_prefix=legacy_sha[:8])
    chex.assert_trees_all_equal(got, params)
    with np.load(npz) as rebuilt:
        assert len(rebuilt.files) == 472


def test_wrong_hash_is_rejected_and_the_file_left_alone(tmp_path, legacy_file, legacy_sha):
    before = legacy_file.stat()
    with pytest.raises(weights.InceptionWeightsHashError) as info:
        weights.load_inception_params(legacy_file, tmp_path)  # default prefix 6726825d
    assert legacy_sha in str(info.value) and "6726825d" in str(info.value)
    assert str(legacy_file) in str(info.value)
    after = legacy_file.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert not list(tmp_path.iterdir())


def test_truncated_weight_file_is_a_clear_error(tmp_path, legacy_file):
    path = tmp_path / "short.pth"
    with open(legacy_file, "rb") as src:
        path.write_bytes(src.read(legacy_file.stat().st_size - 4096))
    sha = weights.sha256_file(path)
    with pytest.raises(TorchFileError, match=rf"{path}.*truncated"):
        weights.load_inception_params(path, tmp_path / "cache", sha256_prefix=sha[:8])


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda sd: sd.pop("Mixed_7c.branch3x3dbl_3b.conv.weight"),
            "missing: Mixed_7c.branch3x3dbl_3b",
        ),
        (
            lambda sd: sd.update({"AuxLogits.conv0.conv.weight": np.zeros(4, np.float32)}),
            "unexpected",
        ),
    ],
)
def test_missing_and_extra_keys_in_the_file(tmp_path, state_dict, edit, message):
    edited = dict(state_dict)
    edit(edited)
    path = write_legacy(tmp_path / "edited.pth", edited)
    sha = weights.sha256_file(path)
    cache = tmp_path / "cache"
    with pytest.raises(InceptionStateDictError, match=message):
        weights.load_inception_params(path, cache, sha256_prefix=sha[:8])
    assert not cache.exists() or not list(cache.glob("*.npz"))


# --- finding and downloading -----------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class _ShortBodyHandler(http.server.BaseHTTPRequestHandler):
    """Promises 1000 bytes, sends 10 and hangs up: a broken download."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        self.wfile.write(b"0123456789")

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def _serve(handler):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/{weights.WEIGHTS_FILENAME}"


def test_downloads_from_a_server(tmp_path, legacy_file, legacy_sha, params):
    handler = functools.partial(_QuietHandler, directory=str(legacy_file.parent))
    cache = tmp_path / "cache"
    with _serve(handler) as base:
        got = weights.load_inception_params(
            cache_dir=cache,
            url=f"{base}/{legacy_file.name}",
            sha256_prefix=legacy_sha[:8],
            progress=False,
        )
    chex.assert_trees_all_equal(got, params)
    assert weights.sha256_file(cache / weights.WEIGHTS_FILENAME) == legacy_sha
    assert not list(cache.glob("*.part"))
    # Now cached: no network needed.
    again = weights.load_inception_params(
        cache_dir=cache, url=_closed_port_url(), sha256_prefix=legacy_sha[:8]
    )
    chex.assert_trees_all_equal(again, params)


def test_wrong_hash_download_is_rejected(tmp_path, legacy_file):
    handler = functools.partial(_QuietHandler, directory=str(legacy_file.parent))
    with (
        _serve(handler) as base,
        pytest.raises(weights.InceptionWeightsHashError, match="6726825d"),
    ):
        weights.load_inception_params(
            cache_dir=tmp_path, url=f"{base}/{legacy_file.name}", progress=False
        )
    assert not list(tmp_path.iterdir())  # neither the file nor a temporary is left


def test_broken_download_leaves_nothing(tmp_path):
    with _serve(_ShortBodyHandler) as base, pytest.raises(weights.InceptionWeightsUnavailable):
        weights.load_inception_params(cache_dir=tmp_path, url=f"{base}/w.pth", progress=False)
    assert not list(tmp_path.iterdir())


def test_no_file_and_no_network_says_how_to_supply(tmp_path, monkeypatch):
    monkeypatch.setenv(weights.CACHE_ENV, str(tmp_path))
    url = _closed_port_url()
    start = time.perf_counter()
    with pytest.raises(weights.InceptionWeightsUnavailable) as info:
        weights.load_inception_params(url=url, timeout=5)
    assert time.perf_counter() - start < 5
    message = str(info.value)
    for needed in ("--inception_weights=", str(tmp_path / weights.WEIGHTS_FILENAME), url):
        assert needed in message


def test_no_download_and_missing_explicit_path(tmp_path):
    with pytest.raises(weights.InceptionWeightsUnavailable, match="downloading is disabled"):
        weights.load_inception_params(cache_dir=tmp_path, download=False)
    with pytest.raises(weights.InceptionWeightsUnavailable, match="no file at"):
        weights.load_inception_params(tmp_path / "nope.pth", tmp_path)


def test_cache_dir_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv(weights.CACHE_ENV, str(tmp_path))
    assert weights.default_cache_dir() == tmp_path
    monkeypatch.delenv(weights.CACHE_ENV)
    assert weights.default_cache_dir() == Path.home() / ".cache" / "jaxgan"


def test_explicit_path_wins_over_the_cache(tmp_path, legacy_file, legacy_sha, params):
    decoy = tmp_path / weights.WEIGHTS_FILENAME
    shutil.copyfile(legacy_file, decoy)
    with open(decoy, "r+b") as file:  # same size, different bytes: would fail the hash
        file.seek(100)
        file.write(b"\x00")
    got = weights.load_inception_params(legacy_file, tmp_path, sha256_prefix=legacy_sha[:8])
    chex.assert_trees_all_equal(got, params)
