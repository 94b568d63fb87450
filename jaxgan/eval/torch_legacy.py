"""Read PyTorch weight files without PyTorch: `torch.save`d state dicts and TorchScript archives.

Three formats are understood:

* legacy (torch < 1.6, and `_use_new_zipfile_serialization=False`): five pickles in a row -- a
  magic number, the protocol version 1001, a sys-info dict, the object itself (tensors refer to
  storages through persistent ids) and the sorted list of storage keys -- followed, for each
  key in that order, by an 8-byte little-endian element count and the raw little-endian data;
* zip (torch >= 1.6): `<name>/data.pkl` with the same persistent ids and `<name>/data/<key>` files;
* TorchScript (`torch.jit.save`): the zip layout again, plus `<name>/code/` (TorchScript source)
  and `<name>/constants.pkl`; its `data.pkl` pickles the module tree, each module an instance of a
  `__torch__.*` class whose attributes (submodules, tensors, ints, lists...) are set by BUILD.

Unpickling is restricted to the handful of globals these files need, so a file cannot run code:
`__torch__.*` classes become inert attribute holders, never the classes of the archive's code.
"""

from __future__ import annotations

import io
import pickle
import struct
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001

STORAGE_DTYPES = {
    "DoubleStorage": np.dtype("<f8"),
    "FloatStorage": np.dtype("<f4"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}


class TorchFileError(ValueError):
    """A file that is not a readable PyTorch state dict (truncated, foreign or unsupported)."""


@dataclass(frozen=True)
class _StorageType:
    name: str
    dtype: np.dtype


@dataclass
class _Storage:
    key: str
    dtype: np.dtype
    numel: int
    data: np.ndarray | None = None


@dataclass(frozen=True)
class _Tensor:
    storage: _Storage
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, hooks=None, *_):
    if not isinstance(storage, _Storage):
        raise TorchFileError("tensor without a storage")
    return _Tensor(storage, int(storage_offset), tuple(map(int, size)), tuple(map(int, stride)))


def _rebuild_parameter(data, requires_grad=False, hooks=None, *_):
    return data


_GLOBALS = {
    ("collections", "OrderedDict"): OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    **{("torch", name): _StorageType(name, dtype) for name, dtype in STORAGE_DTYPES.items()},
}


class ScriptObject:
    """A TorchScript object read from `data.pkl`: its type name and the state its BUILD gave it."""

    type_name = "__torch__"

    def __setstate__(self, state):
        self.state = state

    def __repr__(self) -> str:
        return f"<{self.type_name}>"


def _restore_type_tag(value, _type_str):
    return value


# What TorchScript's pickler writes besides tensors: typed lists, type tags, devices.
_SCRIPT_GLOBALS = {
    **{("torch.jit._pickle", f"build_{kind}list"): list for kind in ("int", "double", "bool")},
    ("torch.jit._pickle", "build_tensorlist"): list,
    ("torch.jit._pickle", "restore_type_tag"): _restore_type_tag,
    ("torch", "device"): str,
}


class _Unpickler(pickle.Unpickler):
    """Resolves only the globals of `_GLOBALS` (and, for TorchScript, `_SCRIPT_GLOBALS` and
    `__torch__.*` classes); storages become `_Storage` placeholders."""

    def __init__(
        self,
        file,
        zip_data: tuple[zipfile.ZipFile, str] | None = None,
        torchscript: bool = False,
    ):
        super().__init__(file)
        self.storages: dict[str, _Storage] = {}
        self._zip_data = zip_data
        self._torchscript = torchscript
        self._script_classes: dict[tuple[str, str], type] = {}

    def find_class(self, module: str, name: str):
        if (module, name) in _GLOBALS:
            return _GLOBALS[(module, name)]
        if self._torchscript:
            if (module, name) in _SCRIPT_GLOBALS:
                return _SCRIPT_GLOBALS[(module, name)]
            if module == "__torch__" or module.startswith("__torch__."):
                # An inert subclass per TorchScript type; nothing of the archive's code is loaded.
                key = (module, name)
                if key not in self._script_classes:
                    attributes = {"type_name": f"{module}.{name}"}
                    self._script_classes[key] = type(name, (ScriptObject,), attributes)
                return self._script_classes[key]
        raise TorchFileError(f"refusing to load global {module}.{name}")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] == "storage"):
            raise TorchFileError(f"unsupported persistent id {str(pid)[:100]}")
        storage_type, key, _location, numel = pid[1:5]
        if not isinstance(storage_type, _StorageType):
            raise TorchFileError(f"unsupported storage type {storage_type!r}")
        if len(pid) == 6 and pid[5] is not None:
            raise TorchFileError("storage views (pre-2018 torch files) are not supported")
        key = str(key)
        if key not in self.storages:
            self.storages[key] = _Storage(key, storage_type.dtype, int(numel))
        storage = self.storages[key]
        if self._zip_data is not None and storage.data is None:
            archive, prefix = self._zip_data
            raw = archive.read(f"{prefix}data/{key}")
            storage.data = _from_bytes(raw, storage)
        return storage


def _from_bytes(raw: bytes, storage: _Storage) -> np.ndarray:
    expected = storage.numel * storage.dtype.itemsize
    if len(raw) != expected:
        raise TorchFileError(f"storage {storage.key}: {len(raw)} bytes, expected {expected}")
    return np.frombuffer(raw, dtype=storage.dtype)


def _read_exact(file: io.BufferedIOBase, size: int, what: str) -> bytes:
    raw = file.read(size)
    if len(raw) != size:
        raise EOFError(f"file ends inside {what} ({len(raw)} of {size} bytes)")
    return raw


def _load_legacy(file: io.BufferedIOBase) -> object:
    if _Unpickler(file).load() != MAGIC_NUMBER:
        raise TorchFileError("not a PyTorch file (wrong magic number)")
    protocol = _Unpickler(file).load()
    if protocol != PROTOCOL_VERSION:
        raise TorchFileError(f"unsupported legacy protocol version {protocol!r}")
    if not isinstance(_Unpickler(file).load(), dict):
        raise TorchFileError("malformed sys-info record")
    unpickler = _Unpickler(file)
    obj = unpickler.load()
    keys = _Unpickler(file).load()
    if not isinstance(keys, list) or set(map(str, keys)) != set(unpickler.storages):
        raise TorchFileError("the storage key list does not match the storages in the pickle")
    for key in keys:
        storage = unpickler.storages[str(key)]
        (count,) = struct.unpack("<q", _read_exact(file, 8, f"storage {key} header"))
        if count != storage.numel:
            raise TorchFileError(f"storage {key}: {count} elements, expected {storage.numel}")
        raw = _read_exact(file, count * storage.dtype.itemsize, f"storage {key}")
        storage.data = _from_bytes(raw, storage)
    return obj


def _zip_prefix(archive: zipfile.ZipFile) -> str:
    """`<name>/` of the archive's single `<name>/data.pkl`."""
    pickles = [n for n in archive.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
    if len(pickles) != 1:
        raise TorchFileError("zip file without exactly one <name>/data.pkl")
    return pickles[0][: -len("data.pkl")]


def _load_zip(archive: zipfile.ZipFile, torchscript: bool = False) -> object:
    prefix = _zip_prefix(archive)
    names = set(archive.namelist())
    if f"{prefix}byteorder" in names and archive.read(f"{prefix}byteorder") != b"little":
        raise TorchFileError("big-endian torch files are not supported")
    with archive.open(f"{prefix}data.pkl") as file:
        return _Unpickler(file, zip_data=(archive, prefix), torchscript=torchscript).load()


def _materialise(tensor: _Tensor) -> np.ndarray:
    storage = tensor.storage
    if storage.data is None:
        raise TorchFileError(f"storage {storage.key} has no data")
    if any(s < 0 for s in tensor.stride) or len(tensor.stride) != len(tensor.shape):
        raise TorchFileError(f"bad strides {tensor.stride} for shape {tensor.shape}")
    last = tensor.offset + sum(
        (n - 1) * s for n, s in zip(tensor.shape, tensor.stride, strict=True)
    )
    if tensor.offset < 0 or (0 not in tensor.shape and last >= storage.data.size):
        raise TorchFileError(f"tensor of shape {tensor.shape} overruns storage {storage.key}")
    item = storage.dtype.itemsize
    view = np.lib.stride_tricks.as_strided(
        storage.data[tensor.offset :], tensor.shape, [s * item for s in tensor.stride]
    )
    return view.astype(storage.dtype.newbyteorder("="), copy=True)


def load_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """Read a `torch.save`d mapping of names to tensors into numpy arrays (name order kept).

    Raises TorchFileError naming the file when it is truncated, not a PyTorch file, holds
    anything but tensors, or would need a Python global beyond the few a state dict uses.
    """
    path = Path(path)
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                obj = _load_zip(archive)
        else:
            with open(path, "rb") as file:
                obj = _load_legacy(file)
        if not isinstance(obj, dict) or not all(
            isinstance(k, str) and isinstance(v, _Tensor) for k, v in obj.items()
        ):
            raise TorchFileError("the file does not hold a mapping of names to tensors")
        return {key: _materialise(tensor) for key, tensor in obj.items()}
    except TorchFileError as error:
        raise TorchFileError(f"{path}: cannot read as a PyTorch state dict: {error}") from error
    except (EOFError, pickle.UnpicklingError) as error:
        raise TorchFileError(f"{path}: truncated or corrupt PyTorch file ({error})") from error
    except (zipfile.BadZipFile, KeyError, IndexError, TypeError, ValueError) as error:
        raise TorchFileError(f"{path}: corrupt PyTorch file ({error!r})") from error


def is_torchscript(path: str | Path) -> bool:
    """Whether `path` is a `torch.jit.save` archive: a torch zip with `code/` or `constants.pkl`.

    Decided by the archive's member names alone (no unpickling); `torch.save` writes neither.
    """
    try:
        if not zipfile.is_zipfile(path):
            return False
        with zipfile.ZipFile(path) as archive:
            prefix = _zip_prefix(archive)
            return any(
                n == f"{prefix}constants.pkl" or n.startswith(f"{prefix}code/")
                for n in archive.namelist()
            )
    except (OSError, zipfile.BadZipFile, TorchFileError):
        return False


def _script_tensors(obj: object, prefix: str, out: dict, path: tuple[int, ...]) -> None:
    """Collect the `_Tensor`s under a TorchScript object as dotted attribute paths."""
    if id(obj) in path:
        raise TorchFileError(f"the module tree loops back at {prefix or '<root>'}")
    path = (*path, id(obj))
    if isinstance(obj, ScriptObject):
        items = getattr(obj, "state", {})
        items = items.items() if isinstance(items, dict) else enumerate(items)
    elif isinstance(obj, list | tuple):
        items = enumerate(obj)
    else:
        items = ()
    for key, value in items:
        name = f"{prefix}{key}"
        if isinstance(value, _Tensor):
            out[name] = value
        elif isinstance(value, ScriptObject | list | tuple):
            _script_tensors(value, f"{name}.", out, path)


def load_torchscript_tensors(path: str | Path) -> dict[str, np.ndarray]:
    """Every tensor attribute of a TorchScript module, by dotted path (`net.layers.conv.weight`).

    TorchScript's pickle does not tell parameters, buffers and plain tensor attributes apart, so
    all are returned. The code (`code/`) and code constants (`constants.pkl`) are not read.
    Raises TorchFileError naming the file when it is not a readable TorchScript archive.
    """
    path = Path(path)
    try:
        if not is_torchscript(path):
            raise TorchFileError("not a TorchScript archive (no <name>/code/ or constants.pkl)")
        with zipfile.ZipFile(path) as archive:
            root = _load_zip(archive, torchscript=True)
        if not isinstance(root, ScriptObject):
            raise TorchFileError(f"data.pkl holds a {type(root).__name__}, not a module")
        tensors: dict[str, _Tensor] = {}
        _script_tensors(root, "", tensors, ())
        return {key: _materialise(tensor) for key, tensor in tensors.items()}
    except TorchFileError as error:
        raise TorchFileError(f"{path}: cannot read as a TorchScript file: {error}") from error
    except (EOFError, pickle.UnpicklingError) as error:
        raise TorchFileError(f"{path}: truncated or corrupt TorchScript file ({error})") from error
    except (
        zipfile.BadZipFile,
        KeyError,
        IndexError,
        TypeError,
        ValueError,
        RecursionError,
    ) as error:
        raise TorchFileError(f"{path}: corrupt TorchScript file ({error!r})") from error
