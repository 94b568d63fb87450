"""Steps/s of the jaxgan `vanilla` train step against the course template's PyTorch step.

    python bin/benchmark.py --data_dir=/path/to/mnist --json=/tmp/bench.json
    python bin/benchmark.py --batch_sizes=64 --windows=3 --steps_per_window=100 --skip_torch

Medians over alternating timed windows (jaxgan, torch template, torch detached, torch.compile,
and a population of --population GANs against as many sequential template steps), compile time,
FLOPs per step (analytic, and XLA's count) and the share of the machine's float32 matmul rate.
What is measured and how: benchmarks/throughput.py. JAX picks its default backend (a GPU when
there is one); torch then uses CUDA when it has it.
"""

import json
import sys
from pathlib import Path

from absl import app, flags, logging

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import throughput as benchmark  # noqa: E402
from jaxgan.data.mnist import MnistError, load_mnist  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_list("batch_sizes", ["64", "256", "1024"], "Batch sizes to measure.")
flags.DEFINE_integer("windows", 7, "Timed windows per implementation (the median is reported).")
flags.DEFINE_integer(
    "steps_per_window", 0,
    "Steps per timed window (rounded to whole jaxgan calls); 0: sized from the warm-up rate to "
    "last about --window_seconds.",
)
flags.DEFINE_float(
    "window_seconds", 3.0, "Target window length when --steps_per_window=0.", lower_bound=0.0
)
flags.DEFINE_float(
    "warmup_seconds", 1.0, "Warm-up per implementation, after compilation.", lower_bound=0.0
)
flags.DEFINE_integer(
    "steps_per_call", 0, "jaxgan steps per Trainer.run dispatch; 0: the config's (50).",
    lower_bound=0,
)
flags.DEFINE_integer(
    "matmul_size", 2048, "Side of the square float32 matmul timed as the peak.", lower_bound=1
)
flags.DEFINE_bool(
    "shape_ceiling", True,
    "Also time each matmul shape of the jaxgan step alone (a ceiling for that step's shapes).",
)
flags.DEFINE_string("data_dir", None, "MNIST IDX directory (default $JAXGAN_DATA_DIR).")
flags.DEFINE_string("json", None, "Write the rows (one per batch size) to this JSON file.")
flags.DEFINE_bool("skip_torch", False, "Measure jaxgan only, even when torch is installed.")
flags.DEFINE_bool("torch_compile", True, "Also time the detached step under torch.compile.")
flags.DEFINE_integer("population", 8, "Also time a jaxgan population of N GANs against N "
                     "sequential PyTorch template steps (0 or 1: skip).", lower_bound=0)


def main(argv):
    if len(argv) > 1:
        sys.exit(f"error: unexpected arguments {argv[1:]}")
    logging.set_verbosity(logging.WARNING)
    try:
        batch_sizes = [int(b) for b in FLAGS.batch_sizes]
    except ValueError:
        sys.exit(f"error: --batch_sizes must be integers, got {FLAGS.batch_sizes}")
    if any(b < 1 for b in batch_sizes) or FLAGS.windows < 1 or FLAGS.steps_per_window < 0:
        sys.exit("error: batch sizes and --windows must be positive, --steps_per_window >= 0")
    try:
        images, _ = load_mnist(FLAGS.data_dir, "train")
    except MnistError as e:
        sys.exit(f"error: {e}")

    def log(message):
        print(message, flush=True)

    try:
        rows = benchmark.run_benchmark(
            images,
            batch_sizes,
            windows=FLAGS.windows,
            steps_per_window=FLAGS.steps_per_window,
            window_seconds=FLAGS.window_seconds,
            warmup_seconds=FLAGS.warmup_seconds,
            steps_per_call=FLAGS.steps_per_call,
            with_torch=not FLAGS.skip_torch,
            torch_compile=FLAGS.torch_compile,
            population=FLAGS.population,
            matmul_size=FLAGS.matmul_size,
            shape_ceiling=FLAGS.shape_ceiling,
            log=log,
        )
    except ValueError as e:
        sys.exit(f"error: {e}")
    print()
    print(benchmark.format_table(rows))
    for line in benchmark.check_targets(rows):
        print(line)
    if FLAGS.json:
        Path(FLAGS.json).write_text(json.dumps(rows, indent=2) + "\n")
        print(f"wrote {FLAGS.json}")


if __name__ == "__main__":
    app.run(main)
