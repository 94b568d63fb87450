"""The committed MNIST classifier: accuracy, weight verification, determinism and label metrics."""

from __future__ import annotations

import hashlib

import chex
import jax
import numpy as np
import pytest

from jaxgan import classifier
from jaxgan.classifier import ClassifierWeightsError
from jaxgan.data.mnist import load_mnist


@pytest.fixture(scope="module")
def mnist_test(small_mnist):
    return load_mnist(small_mnist, "test", download=False)


@pytest.fixture(scope="module")
def params():
    return classifier.load_params()


def test_committed_weights_reach_99_percent(params, full_mnist):
    images, labels = load_mnist(full_mnist, "test", download=False)
    assert classifier.accuracy(params, images, labels) >= 0.99


def test_committed_weights_hash_and_documentation():
    data = classifier.WEIGHTS_PATH.read_bytes()
    assert hashlib.sha256(data).hexdigest() == classifier.WEIGHTS_SHA256
    assert len(data) < 5 * 2**20
    notes = classifier.WEIGHTS_PATH.with_name("CLASSIFIER.md").read_text()
    assert classifier.WEIGHTS_SHA256 in notes


def test_hash_mismatch_is_a_clear_error(tmp_path):
    data = bytearray(classifier.WEIGHTS_PATH.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged = tmp_path / "weights.npz"
    damaged.write_bytes(bytes(data))
    with pytest.raises(ClassifierWeightsError, match=classifier.WEIGHTS_SHA256) as info:
        classifier.load_params(damaged)
    assert str(damaged) in str(info.value) and "SHA-256" in str(info.value)
    with pytest.raises(ClassifierWeightsError, match="cannot be read"):
        classifier.load_params(tmp_path / "missing.npz")


def test_features_shapes_and_batch_independence(params, mnist_test):
    images = mnist_test[0][:37]
    features, logits = classifier.classify(params, images, batch_size=500)
    chex.assert_shape(features, (37, classifier.FEATURE_DIM))
    chex.assert_shape(logits, (37, classifier.NUM_CLASSES))
    assert features.dtype == np.float32 and np.isfinite(features).all()
    small_batches, _ = classifier.classify(params, images, batch_size=8)
    np.testing.assert_allclose(small_batches, features, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(classifier.features(images, params), features)
    with pytest.raises(TypeError, match="uint8"):
        classifier.classify(params, images.astype(np.float32))


@pytest.mark.slow
def test_training_is_deterministic(mnist_test, tmp_path):
    images, labels = mnist_test[0][:512], mnist_test[1][:512]
    kwargs = dict(epochs=1, batch_size=64, max_steps=3, progress=False)
    first = classifier.train_classifier(images, labels, seed=0, **kwargs)
    second = classifier.train_classifier(images, labels, seed=0, **kwargs)
    other = classifier.train_classifier(images, labels, seed=1, **kwargs)
    chex.assert_trees_all_equal(first, second)
    assert not all(jax.tree.leaves(jax.tree.map(np.array_equal, first, other)))
    sha_a = classifier.save_params(first, tmp_path / "a.npz")
    sha_b = classifier.save_params(second, tmp_path / "b.npz")
    assert sha_a == sha_b
    chex.assert_trees_all_equal(classifier.load_params(tmp_path / "a.npz", sha_a), first)


def _one_hot_logits(classes):
    return np.eye(classifier.NUM_CLASSES)[np.asarray(classes)] * 20.0


def test_label_metrics_uniform_and_collapsed():
    uniform = classifier.label_metrics(_one_hot_logits(np.arange(1000) % 10))
    assert uniform["class_counts"] == [100] * 10
    assert uniform["modes_covered"] == 10
    assert uniform["kl_uniform"] == pytest.approx(0.0, abs=1e-12)
    assert uniform["mean_confidence"] == pytest.approx(1.0, abs=1e-6)
    collapsed = classifier.label_metrics(_one_hot_logits(np.full(500, 7)))
    assert collapsed["modes_covered"] == 1
    assert collapsed["kl_uniform"] == pytest.approx(np.log(10))


def test_label_metrics_threshold_and_confidence():
    # Class 9 gets 0.5% of the samples: below the 1% threshold, so it is not a covered mode.
    classes = np.concatenate([np.repeat(np.arange(9), 110), np.full(5, 9)])
    result = classifier.label_metrics(_one_hot_logits(classes))
    assert result["modes_covered"] == 9
    assert (
        classifier.label_metrics(_one_hot_logits(classes), mode_threshold=0.001)["modes_covered"]
        == 10
    )
    flat = classifier.label_metrics(np.zeros((4, 10)))
    assert flat["mean_confidence"] == pytest.approx(0.1)
