"""Trains the MNIST classifier used for offline metrics and writes its weights.

    python bin/train_classifier.py --data_dir=/path/to/mnist

writes jaxgan/classifier_weights.npz and prints its test accuracy and SHA-256; record both,
with the exact command, in jaxgan/CLASSIFIER.md, and the hash as WEIGHTS_SHA256 in
jaxgan/classifier.py.
"""

import sys
import time
from pathlib import Path

from absl import app, flags

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jaxgan import classifier  # noqa: E402
from jaxgan.data.mnist import MnistError, load_mnist  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("data_dir", None, "MNIST IDX directory (default $JAXGAN_DATA_DIR or ~/.cache).")
flags.DEFINE_string("out", str(classifier.WEIGHTS_PATH), "Where to write the weights (.npz).")
flags.DEFINE_integer("seed", 0, "Seed for initialisation, data order, shifts and dropout.")
flags.DEFINE_integer("epochs", 4, "Epochs over the 60k training digits.", lower_bound=1)
flags.DEFINE_integer("batch_size", 128, "Batch size.", lower_bound=1)
flags.DEFINE_float(
    "learning_rate", 1e-3, "Peak Adam learning rate (cosine decay to 0).", lower_bound=0.0
)
flags.DEFINE_integer(
    "max_shift", 2, "Random translation augmentation, in pixels.", lower_bound=0
)


def main(argv):
    del argv
    try:
        train_images, train_labels = load_mnist(FLAGS.data_dir, "train")
        test_images, test_labels = load_mnist(FLAGS.data_dir, "test")
    except MnistError as e:
        sys.exit(f"error: {e}")
    start = time.perf_counter()
    params = classifier.train_classifier(
        train_images,
        train_labels,
        seed=FLAGS.seed,
        epochs=FLAGS.epochs,
        batch_size=FLAGS.batch_size,
        learning_rate=FLAGS.learning_rate,
        max_shift=FLAGS.max_shift,
    )
    seconds = time.perf_counter() - start
    sha256 = classifier.save_params(params, FLAGS.out)
    acc = classifier.accuracy(params, test_images, test_labels)
    print(f"trained in {seconds:.0f} s; MNIST test accuracy {acc:.4%}")
    print(f"wrote {FLAGS.out}")
    print(f"sha256 {sha256}")


if __name__ == "__main__":
    app.run(main)
