"""pytorch-fid's FID Inception-v3 in Flax (NHWC), its preprocessing, and its weight conversion.

The network is `fid_inception_v3` of pytorch-fid 0.3.0: torchvision's Inception-v3 trunk with the
FID patches (average pools that exclude padding in Mixed_5b..7b, a max pool in Mixed_7c), BatchNorm
in inference form with eps 1e-3, every convolution at full float32 precision. Module and parameter
names equal the PyTorch state-dict names, so conversion is a mapping by name, never by position.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from tqdm import tqdm

INPUT_SIZE = 299
MIN_TRUNK_SIZE = 75  # smaller inputs leave Mixed_7c with a 0x0 map (NaN features, no error)
BN_EPSILON = 1e-3
BLOCK_DIMS = (64, 192, 768, 2048)  # pytorch-fid's output blocks 0..3; block 3 is pool3
FC_SHAPES = {"fc.weight": (1008, 2048), "fc.bias": (1008,)}  # in the file, unused for FID
PROGRESS_MIN_BATCHES = 10

_BN_LEAVES = {  # torch BatchNorm name -> (Flax collection, Flax name)
    "weight": ("params", "scale"),
    "bias": ("params", "bias"),
    "running_mean": ("batch_stats", "mean"),
    "running_var": ("batch_stats", "var"),
}
_NUM_BATCHES_TRACKED = ".bn.num_batches_tracked"


class InceptionStateDictError(ValueError):
    """A state dict whose keys or shapes are not those of pytorch-fid's Inception."""


class BasicConv2d(nn.Module):
    """Conv without bias -> BatchNorm (running statistics, eps 1e-3) -> ReLU."""

    features: int
    kernel_size: tuple[int, int] = (1, 1)
    strides: int = 1
    padding: tuple[int, int] = (0, 0)  # PyTorch's symmetric (ph, pw)

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        ph, pw = self.padding
        x = nn.Conv(
            self.features,
            self.kernel_size,
            strides=(self.strides, self.strides),
            padding=((ph, ph), (pw, pw)),
            use_bias=False,
            precision=lax.Precision.HIGHEST,
            name="conv",
        )(x)
        x = nn.BatchNorm(use_running_average=True, epsilon=BN_EPSILON, name="bn")(x)
        return nn.relu(x)


def _avg_pool_3x3(x: jax.Array) -> jax.Array:
    # TensorFlow's average pool, which the weights come from, ignores the padded zeros.
    return nn.avg_pool(x, (3, 3), (1, 1), ((1, 1), (1, 1)), count_include_pad=False)


def _max_pool_3x3(x: jax.Array, stride: int) -> jax.Array:
    pad = ((1, 1), (1, 1)) if stride == 1 else "VALID"
    return nn.max_pool(x, (3, 3), (stride, stride), pad)


class InceptionA(nn.Module):
    """pytorch-fid's FIDInceptionA (Mixed_5b/5c/5d)."""

    pool_features: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        b1 = BasicConv2d(64, name="branch1x1")(x)
        b5 = BasicConv2d(48, name="branch5x5_1")(x)
        b5 = BasicConv2d(64, (5, 5), padding=(2, 2), name="branch5x5_2")(b5)
        b3 = BasicConv2d(64, name="branch3x3dbl_1")(x)
        b3 = BasicConv2d(96, (3, 3), padding=(1, 1), name="branch3x3dbl_2")(b3)
        b3 = BasicConv2d(96, (3, 3), padding=(1, 1), name="branch3x3dbl_3")(b3)
        bp = BasicConv2d(self.pool_features, name="branch_pool")(_avg_pool_3x3(x))
        return jnp.concatenate([b1, b5, b3, bp], axis=-1)


class InceptionB(nn.Module):
    """torchvision's InceptionB (Mixed_6a), unpatched: grid 35 -> 17."""

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        b3 = BasicConv2d(384, (3, 3), strides=2, name="branch3x3")(x)
        bd = BasicConv2d(64, name="branch3x3dbl_1")(x)
        bd = BasicConv2d(96, (3, 3), padding=(1, 1), name="branch3x3dbl_2")(bd)
        bd = BasicConv2d(96, (3, 3), strides=2, name="branch3x3dbl_3")(bd)
        return jnp.concatenate([b3, bd, _max_pool_3x3(x, 2)], axis=-1)


class InceptionC(nn.Module):
    """pytorch-fid's FIDInceptionC (Mixed_6b..6e) with factorised 7x7 convolutions."""

    channels_7x7: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        c7 = self.channels_7x7
        row, col = (
            dict(kernel_size=(1, 7), padding=(0, 3)),
            dict(kernel_size=(7, 1), padding=(3, 0)),
        )
        b1 = BasicConv2d(192, name="branch1x1")(x)
        b7 = BasicConv2d(c7, name="branch7x7_1")(x)
        b7 = BasicConv2d(c7, **row, name="branch7x7_2")(b7)
        b7 = BasicConv2d(192, **col, name="branch7x7_3")(b7)
        bd = BasicConv2d(c7, name="branch7x7dbl_1")(x)
        bd = BasicConv2d(c7, **col, name="branch7x7dbl_2")(bd)
        bd = BasicConv2d(c7, **row, name="branch7x7dbl_3")(bd)
        bd = BasicConv2d(c7, **col, name="branch7x7dbl_4")(bd)
        bd = BasicConv2d(192, **row, name="branch7x7dbl_5")(bd)
        bp = BasicConv2d(192, name="branch_pool")(_avg_pool_3x3(x))
        return jnp.concatenate([b1, b7, bd, bp], axis=-1)


class InceptionD(nn.Module):
    """torchvision's InceptionD (Mixed_7a), unpatched: grid 17 -> 8."""

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        b3 = BasicConv2d(192, name="branch3x3_1")(x)
        b3 = BasicConv2d(320, (3, 3), strides=2, name="branch3x3_2")(b3)
        b7 = BasicConv2d(192, name="branch7x7x3_1")(x)
        b7 = BasicConv2d(192, (1, 7), padding=(0, 3), name="branch7x7x3_2")(b7)
        b7 = BasicConv2d(192, (7, 1), padding=(3, 0), name="branch7x7x3_3")(b7)
        b7 = BasicConv2d(192, (3, 3), strides=2, name="branch7x7x3_4")(b7)
        return jnp.concatenate([b3, b7, _max_pool_3x3(x, 2)], axis=-1)


class InceptionE(nn.Module):
    """FIDInceptionE_1 (avg pool, Mixed_7b) or FIDInceptionE_2 (max pool, Mixed_7c)."""

    max_pool: bool

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        row, col = (
            dict(kernel_size=(1, 3), padding=(0, 1)),
            dict(kernel_size=(3, 1), padding=(1, 0)),
        )
        b1 = BasicConv2d(320, name="branch1x1")(x)
        b3 = BasicConv2d(384, name="branch3x3_1")(x)
        b3 = jnp.concatenate(
            [
                BasicConv2d(384, **row, name="branch3x3_2a")(b3),
                BasicConv2d(384, **col, name="branch3x3_2b")(b3),
            ],
            axis=-1,
        )
        bd = BasicConv2d(448, name="branch3x3dbl_1")(x)
        bd = BasicConv2d(384, (3, 3), padding=(1, 1), name="branch3x3dbl_2")(bd)
        bd = jnp.concatenate(
            [
                BasicConv2d(384, **row, name="branch3x3dbl_3a")(bd),
                BasicConv2d(384, **col, name="branch3x3dbl_3b")(bd),
            ],
            axis=-1,
        )
        # pytorch-fid keeps the original graph's max pool in Mixed_7c (likely a bug there, but it
        # is what the weights were used with).
        pooled = _max_pool_3x3(x, 1) if self.max_pool else _avg_pool_3x3(x)
        bp = BasicConv2d(192, name="branch_pool")(pooled)
        return jnp.concatenate([b1, b3, bd, bp], axis=-1)


class FIDInceptionV3(nn.Module):
    """The FID Inception trunk on preprocessed NHWC input in [-1, 1], inference only.

    Returns the outputs of pytorch-fid's blocks 0..3 averaged over height and width:
    (B, 64), (B, 192), (B, 768) and (B, 2048); the last is the pool3 feature used by FID.
    """

    @nn.compact
    def __call__(self, x: jax.Array) -> tuple[jax.Array, ...]:
        if x.ndim != 4 or x.shape[-1] != 3:
            raise ValueError(f"FIDInceptionV3 expects (B, H, W, 3) input, got shape {x.shape}")
        if min(x.shape[1:3]) < MIN_TRUNK_SIZE:
            raise ValueError(
                f"FIDInceptionV3 needs H, W >= {MIN_TRUNK_SIZE} (got {x.shape[1:3]}); resize first"
            )
        x = BasicConv2d(32, (3, 3), strides=2, name="Conv2d_1a_3x3")(x)
        x = BasicConv2d(32, (3, 3), name="Conv2d_2a_3x3")(x)
        x = BasicConv2d(64, (3, 3), padding=(1, 1), name="Conv2d_2b_3x3")(x)
        block0 = x = _max_pool_3x3(x, 2)
        x = BasicConv2d(80, name="Conv2d_3b_1x1")(x)
        x = BasicConv2d(192, (3, 3), name="Conv2d_4a_3x3")(x)
        block1 = x = _max_pool_3x3(x, 2)
        x = InceptionA(32, name="Mixed_5b")(x)
        x = InceptionA(64, name="Mixed_5c")(x)
        x = InceptionA(64, name="Mixed_5d")(x)
        x = InceptionB(name="Mixed_6a")(x)
        x = InceptionC(128, name="Mixed_6b")(x)
        x = InceptionC(160, name="Mixed_6c")(x)
        x = InceptionC(160, name="Mixed_6d")(x)
        block2 = x = InceptionC(192, name="Mixed_6e")(x)
        x = InceptionD(name="Mixed_7a")(x)
        x = InceptionE(max_pool=False, name="Mixed_7b")(x)
        block3 = InceptionE(max_pool=True, name="Mixed_7c")(x)
        return tuple(jnp.mean(b, axis=(1, 2)) for b in (block0, block1, block2, block3))


def preprocess(images: jax.Array) -> jax.Array:
    """uint8 (B, H, W, C), C in {1, 3} -> float32 (B, 299, 299, 3) in [-1, 1], as pytorch-fid.

    [0, 1] scaling, bilinear resize with half-pixel centres and no antialiasing (torch's
    `interpolate(..., align_corners=False)`), then 2x - 1. Gray is resized once and repeated,
    which equals repeating first because the resize acts per channel.
    """
    b, _, _, c = images.shape
    x = images.astype(jnp.float32) / 255.0
    x = jax.image.resize(x, (b, INPUT_SIZE, INPUT_SIZE, c), "bilinear", antialias=False)
    x = jnp.broadcast_to(x, (b, INPUT_SIZE, INPUT_SIZE, 3))
    return 2.0 * x - 1.0


@jax.jit
def _block_means_batch(variables: Mapping, images: jax.Array) -> tuple[jax.Array, ...]:
    return FIDInceptionV3().apply(variables, preprocess(images))


def _check_images(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise TypeError(f"Inception input must be uint8 images, got dtype {images.dtype}")
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(f"Inception input must be (N, H, W) or (N, H, W, 1|3), got {images.shape}")
    return images


def block_features(
    params: Mapping,
    images: np.ndarray,
    batch_size: int = 50,
    progress: bool | None = None,
) -> tuple[np.ndarray, ...]:
    """Spatial means of pytorch-fid's blocks 0..3 for uint8 images: float32 (N, 64|192|768|2048).

    Images are (N, H, W) or (N, H, W, C), C in {1, 3}. Batches have a fixed size
    min(batch_size, N), the last one zero-padded, so one compiled program serves every batch and
    the features do not depend on batch_size. `progress` None shows a bar from 10 batches on.
    """
    images = _check_images(images)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    n = images.shape[0]
    outputs = tuple(np.empty((n, d), np.float32) for d in BLOCK_DIMS)
    if n == 0:
        return outputs
    size = min(batch_size, n)
    variables = jax.device_put(params)
    starts = range(0, n, size)
    show = len(starts) >= PROGRESS_MIN_BATCHES if progress is None else progress
    for start in tqdm(starts, disable=not show, desc="Inception", unit="batch"):
        batch = images[start : start + size]
        m = batch.shape[0]
        if m < size:
            batch = np.concatenate([batch, np.zeros((size - m, *batch.shape[1:]), np.uint8)])
        for out, value in zip(outputs, _block_means_batch(variables, batch), strict=True):
            out[start : start + m] = np.asarray(value)[:m]
    return outputs


def pool3_features(
    params: Mapping,
    images: np.ndarray,
    batch_size: int = 50,
    progress: bool | None = None,
) -> np.ndarray:
    """The 2048-d pool3 FID features, float32 (N, 2048), of uint8 images; see `block_features`."""
    return block_features(params, images, batch_size, progress)[-1]


@lru_cache(maxsize=1)
def _flax_variable_shapes() -> dict:
    dummy = jax.ShapeDtypeStruct((1, MIN_TRUNK_SIZE, MIN_TRUNK_SIZE, 3), jnp.float32)
    shapes = jax.eval_shape(FIDInceptionV3().init, jax.random.key(0), dummy)
    return jax.tree.map(lambda s: tuple(s.shape), shapes)


def _conv_prefixes(tree: Mapping, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Paths of the BasicConv2d modules in a Flax params tree, in module order."""
    if "conv" in tree and "bn" in tree:
        return [path]
    return [p for name, sub in tree.items() for p in _conv_prefixes(sub, (*path, name))]


def torch_state_dict_shapes() -> dict[str, tuple[int, ...]]:
    """Keys and shapes of pytorch-fid's Inception state dict, derived from `FIDInceptionV3`.

    Includes the `bn.num_batches_tracked` scalars and the unused `fc` layer, as in the file.
    """
    params = _flax_variable_shapes()["params"]
    shapes: dict[str, tuple[int, ...]] = {}
    for path in _conv_prefixes(params):
        node = params
        for name in path:
            node = node[name]
        kh, kw, cin, cout = node["conv"]["kernel"]
        prefix = ".".join(path)
        shapes[f"{prefix}.conv.weight"] = (cout, cin, kh, kw)
        for leaf in _BN_LEAVES:
            shapes[f"{prefix}.bn.{leaf}"] = (cout,)
        shapes[prefix + _NUM_BATCHES_TRACKED] = ()
    shapes.update(FC_SHAPES)
    return shapes


def _name_keys(keys: list[str], limit: int = 12) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f", ... ({len(keys) - limit} more)" if len(keys) > limit else "")


def params_from_torch_state_dict(state_dict: Mapping[str, np.ndarray]) -> dict:
    """pytorch-fid state dict (name -> array) -> Flax variables {"params", "batch_stats"}.

    Conv kernels go OIHW -> HWIO; BatchNorm weight/bias/running_mean/running_var become
    scale/bias/mean/var. `num_batches_tracked` is ignored and `fc` is checked but dropped (FID
    does not use it). Missing, unexpected or wrongly shaped keys raise InceptionStateDictError.
    """
    expected = torch_state_dict_shapes()
    missing = [k for k in expected if k not in state_dict and not k.endswith(_NUM_BATCHES_TRACKED)]
    unexpected = [k for k in state_dict if k not in expected]
    wrong = [
        f"{k} {tuple(np.shape(v))} (expected {expected[k]})"
        for k, v in state_dict.items()
        if k in expected and not k.endswith(_NUM_BATCHES_TRACKED) and np.shape(v) != expected[k]
    ]
    problems = [
        f"{label}: {_name_keys(keys)}"
        for label, keys in (
            ("missing", missing),
            ("unexpected", unexpected),
            ("wrong shape", wrong),
        )
        if keys
    ]
    if problems:
        raise InceptionStateDictError(
            "not pytorch-fid's Inception state dict; " + "; ".join(problems)
        )

    variables: dict = {"params": {}, "batch_stats": {}}
    for key, value in state_dict.items():
        if key.endswith(_NUM_BATCHES_TRACKED) or key in FC_SHAPES:
            continue
        *path, module, leaf = key.split(".")
        array = np.asarray(value, dtype=np.float32)
        if module == "conv":
            collection, name, array = "params", "kernel", array.transpose(2, 3, 1, 0)
        else:
            collection, name = _BN_LEAVES[leaf]
        node = variables[collection]
        for part in (*path, module):
            node = node.setdefault(part, {})
        node[name] = np.ascontiguousarray(array)
    return variables


def torch_state_dict_from_params(variables: Mapping) -> dict[str, np.ndarray]:
    """Inverse of `params_from_torch_state_dict` (without `fc` and `num_batches_tracked`)."""
    state_dict = {}
    for path in _conv_prefixes(variables["params"]):
        params, stats = variables["params"], variables["batch_stats"]
        for name in path:
            params, stats = params[name], stats[name]
        prefix = ".".join(path)
        state_dict[f"{prefix}.conv.weight"] = np.asarray(params["conv"]["kernel"]).transpose(
            3, 2, 0, 1
        )
        for leaf, (collection, name) in _BN_LEAVES.items():
            source = params if collection == "params" else stats
            state_dict[f"{prefix}.bn.{leaf}"] = np.asarray(source["bn"][name])
    return state_dict
