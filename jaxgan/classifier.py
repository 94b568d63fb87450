"""A small MNIST CNN for offline metrics: its 128-d penultimate features and its class predictions.

The network (conv5×5·32 → pool → conv5×5·64 → pool → dense 128 → dense 10) is trained once by
`bin/train_classifier.py`; the weights are committed as `classifier_weights.npz` and verified by
SHA-256 on load, so every metric computed with them names exactly one network. Training is
deterministic: the same seed, flags and software give the same bits (see CLASSIFIER.md).
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from collections.abc import Mapping
from functools import partial
from pathlib import Path

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import traverse_util
from tqdm import tqdm

from jaxgan.files import write_atomic
from jaxgan.pixels import IMAGE_SHAPE

WEIGHTS_PATH = Path(__file__).with_name("classifier_weights.npz")
WEIGHTS_SHA256 = "c748eeb7a6c53cba08cec0fd131a843ff40c8d934fa0f4c320a4773e1487fd15"
NUM_CLASSES = 10
FEATURE_DIM = 128
MODE_THRESHOLD = 0.01
_HIGHEST = jax.lax.Precision.HIGHEST


class ClassifierWeightsError(ValueError):
    """A missing, corrupt or unexpected classifier weight file; the message names the fix."""


class MnistCNN(nn.Module):
    """uint8 (N, 28, 28) digits -> (logits (N, 10), penultimate ReLU features (N, 128))."""

    dropout_rate: float = 0.25

    @nn.compact
    def __call__(self, images: jax.Array, train: bool = False) -> tuple[jax.Array, jax.Array]:
        x = images.astype(jnp.float32)[..., None] / 255.0
        x = nn.relu(nn.Conv(32, (5, 5), precision=_HIGHEST, name="conv1")(x))
        x = nn.max_pool(x, (2, 2), (2, 2))
        x = nn.relu(nn.Conv(64, (5, 5), precision=_HIGHEST, name="conv2")(x))
        x = nn.max_pool(x, (2, 2), (2, 2))
        x = x.reshape(x.shape[0], -1)
        features = nn.relu(nn.Dense(FEATURE_DIM, precision=_HIGHEST, name="hidden")(x))
        h = nn.Dropout(self.dropout_rate, deterministic=not train)(features)
        return nn.Dense(NUM_CLASSES, precision=_HIGHEST, name="logits")(h), features


def _check_images(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise TypeError(f"classifier input must be uint8 images, got dtype {images.dtype}")
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
        raise ValueError(
            f"classifier input must be (N, 28, 28) or (N, 28, 28, 1), got {images.shape}"
        )
    return images


def init_params(seed: int = 0) -> dict:
    """Fresh parameters for `MnistCNN`, from `seed`."""
    dummy = jnp.zeros((1, *IMAGE_SHAPE), jnp.uint8)
    return MnistCNN().init(jax.random.key(seed), dummy)["params"]


def _shift(images: jax.Array, key: jax.Array, max_shift: int) -> jax.Array:
    """Random translations by up to `max_shift` pixels, zero-filled, one per image."""
    n = images.shape[0]
    padded = jnp.pad(images, ((0, 0), (max_shift, max_shift), (max_shift, max_shift)))
    offsets = jax.random.randint(key, (n, 2), 0, 2 * max_shift + 1)
    crop = lambda img, o: jax.lax.dynamic_slice(img, (o[0], o[1]), IMAGE_SHAPE)
    return jax.vmap(crop)(padded, offsets)


@partial(jax.jit, static_argnames=("optimizer", "max_shift"))
def _train_step(params, opt_state, images, labels, key, optimizer, max_shift):
    shift_key, dropout_key = jax.random.split(key)
    if max_shift:
        images = _shift(images, shift_key, max_shift)

    def loss_fn(p):
        logits, _ = MnistCNN().apply(
            {"params": p}, images, train=True, rngs={"dropout": dropout_key}
        )
        return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()

    loss, grads = jax.value_and_grad(loss_fn)(params)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss


def train_classifier(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    seed: int = 0,
    epochs: int = 4,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
    max_shift: int = 2,
    max_steps: int | None = None,
    progress: bool = True,
) -> dict:
    """Adam with cosine decay on shuffled, randomly shifted digits; returns the parameters.

    Deterministic for a seed: the data order comes from `np.random.default_rng((seed, epoch))`,
    the shifts and dropout from `jax.random.fold_in(key(seed), step)`. The last partial batch of
    each epoch is dropped. `max_steps` stops early (for tests).
    """
    images = _check_images(images)
    labels = np.asarray(labels, np.int32)
    steps_per_epoch = images.shape[0] // batch_size
    total = (
        epochs * steps_per_epoch if max_steps is None else min(max_steps, epochs * steps_per_epoch)
    )
    optimizer = optax.adam(optax.cosine_decay_schedule(learning_rate, max(total, 1)))
    params = init_params(seed)
    opt_state = optimizer.init(params)
    base_key = jax.random.key(seed)
    step = 0
    bar = tqdm(total=total, disable=not progress, desc="classifier", unit="step")
    for epoch in range(epochs):
        order = np.random.default_rng((seed, epoch)).permutation(images.shape[0])
        for i in range(steps_per_epoch):
            if step == total:
                break
            idx = order[i * batch_size : (i + 1) * batch_size]
            params, opt_state, loss = _train_step(
                params,
                opt_state,
                images[idx],
                labels[idx],
                jax.random.fold_in(base_key, step),
                optimizer,
                max_shift,
            )
            step += 1
            bar.update()
            if step % 100 == 0:
                bar.set_postfix(loss=f"{float(loss):.4f}", epoch=epoch)
    bar.close()
    return jax.tree.map(np.asarray, params)


@jax.jit
def _forward(params, images):
    return MnistCNN().apply({"params": params}, images)


def classify(
    params: Mapping,
    images: np.ndarray,
    batch_size: int = 500,
    progress: bool | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(features float32 (N, 128), logits float32 (N, 10)) of uint8 digits.

    Batches have a fixed size min(batch_size, N), the last one zero-padded, so one compiled program
    serves every batch. `progress` None shows a bar from 10 batches on.
    """
    images = _check_images(images)
    n = images.shape[0]
    features = np.empty((n, FEATURE_DIM), np.float32)
    logits = np.empty((n, NUM_CLASSES), np.float32)
    if n == 0:
        return features, logits
    size = min(batch_size, n)
    params = jax.device_put(params)
    starts = range(0, n, size)
    show = len(starts) >= 10 if progress is None else progress
    for start in tqdm(starts, disable=not show, desc="classifier features", unit="batch"):
        batch = images[start : start + size]
        m = batch.shape[0]
        if m < size:
            batch = np.concatenate([batch, np.zeros((size - m, *IMAGE_SHAPE), np.uint8)])
        out_logits, out_features = _forward(params, batch)
        logits[start : start + m] = np.asarray(out_logits)[:m]
        features[start : start + m] = np.asarray(out_features)[:m]
    return features, logits


def features(images: np.ndarray, params: Mapping | None = None, **kwargs) -> np.ndarray:
    """Penultimate-layer features, float32 (N, 128); the committed weights unless `params`."""
    return classify(load_params() if params is None else params, images, **kwargs)[0]


def accuracy(params: Mapping, images: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of `images` whose predicted class equals `labels`."""
    _, logits = classify(params, images, progress=False)
    return float(np.mean(logits.argmax(axis=1) == np.asarray(labels)))


def label_metrics(logits: np.ndarray, mode_threshold: float = MODE_THRESHOLD) -> dict:
    """Predicted-class histogram metrics of generated digits.

    * `class_counts`: samples predicted as each digit (argmax of the logits).
    * `modes_covered`: digits receiving at least `mode_threshold` of all samples (default 1%, a
      tenth of the uniform share), so misclassified junk spread over all classes does not count.
    * `kl_uniform`: KL(p̂ ‖ U) = Σ p̂ log(10 p̂) in nats over classes with p̂ > 0 (0 when uniform,
      log 10 ≈ 2.303 when one class takes everything).
    * `mean_confidence`: mean over samples of the largest softmax probability.
    """
    logits = np.asarray(logits, np.float64)
    if logits.ndim != 2 or logits.shape[1] != NUM_CLASSES or logits.shape[0] == 0:
        raise ValueError(f"logits must be (N, {NUM_CLASSES}) with N > 0, got {logits.shape}")
    counts = np.bincount(logits.argmax(axis=1), minlength=NUM_CLASSES)
    p = counts / counts.sum()
    nonzero = p > 0
    shifted = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    return {
        "class_counts": counts.tolist(),
        "modes_covered": int(np.sum(p >= mode_threshold)),
        "kl_uniform": float(np.sum(p[nonzero] * np.log(p[nonzero] * NUM_CLASSES))),
        "mean_confidence": float(probs.max(axis=1).mean()),
    }


def _npz_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
    """An uncompressed .npz with fixed timestamps, so equal arrays give equal bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name in sorted(arrays):
            member = io.BytesIO()
            np.lib.format.write_array(
                member, np.ascontiguousarray(arrays[name]), allow_pickle=False
            )
            archive.writestr(
                zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0)), member.getvalue()
            )
    return buffer.getvalue()


def save_params(params: Mapping, path: str | os.PathLike) -> str:
    """Writes parameters as a reproducible .npz (keys like `conv1/kernel`); returns its SHA-256."""
    flat = traverse_util.flatten_dict(jax.tree.map(np.asarray, dict(params)), sep="/")
    data = _npz_bytes({k: v.astype(np.float32) for k, v in flat.items()})
    write_atomic(path, data)
    return hashlib.sha256(data).hexdigest()


def load_params(
    path: str | os.PathLike | None = None, expected_sha256: str | None = WEIGHTS_SHA256
) -> dict:
    """Loads classifier parameters; checks the file's SHA-256 unless `expected_sha256` is None."""
    path = WEIGHTS_PATH if path is None else Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ClassifierWeightsError(
            f"{path}: cannot be read ({e}). Restore it from git, or retrain with "
            "`python bin/train_classifier.py` (see jaxgan/CLASSIFIER.md)."
        ) from e
    actual = hashlib.sha256(data).hexdigest()
    if expected_sha256 is not None and actual != expected_sha256:
        raise ClassifierWeightsError(
            f"{path}: SHA-256 {actual}, expected {expected_sha256} (corrupt or different weights). "
            "Restore the committed file from git (see jaxgan/CLASSIFIER.md)."
        )
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        flat = {k: archive[k] for k in archive.files}
    params = traverse_util.unflatten_dict(flat, sep="/")
    expected = jax.tree.map(lambda a: a.shape, jax.eval_shape(init_params, 0))
    if jax.tree.map(lambda a: a.shape, params) != expected:
        raise ClassifierWeightsError(f"{path}: parameter names or shapes differ from MnistCNN")
    return params
