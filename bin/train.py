"""Trains a variant: `python bin/train.py --variant=san --latent_dim=100`.

`--variant=NAME` is `--config=configs/NAME.py` (ml_collections' config file flag; a file of your
own works too); `--config.<field>=value` overrides any field; the flags below set common ones.
Starting on a workdir that holds a checkpoint resumes it.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from absl import app, flags  # noqa: E402
from ml_collections import config_flags  # noqa: E402

from jaxgan import datasets, distributed, quality, supervisor  # noqa: E402
from jaxgan.cli import config_argv, define_config, fail, override, parse_flags  # noqa: E402
from jaxgan.train import train_and_evaluate  # noqa: E402

ARGV = config_argv(sys.argv)
CONFIG = define_config(ARGV)
flags.DEFINE_string("workdir", None, "Run directory (default runs/<variant>).")
flags.DEFINE_string(
    "data_dir", None, "MNIST IDX directory (default $JAXGAN_DATA_DIR, else ~/.cache/jaxgan/mnist)."
)
flags.DEFINE_string("dataset", None, "Training data: mnist, or a 2-D toy, ring8 or grid25 (then "
                    "G and D become 2-D nets of width 128).")
flags.DEFINE_integer(
    "latent_dim", None, "Latent dimension, G's input width (config.prior.latent_dim)."
)
flags.DEFINE_integer("epochs", None, "Number of epochs.")
flags.DEFINE_integer("num_steps", None, "Total G steps of the run (overrides --epochs).")
flags.DEFINE_integer("batch_size", None, "Global batch size.")
flags.DEFINE_integer("seed", None, "Random seed (of member 0 with --num_seeds).")
flags.DEFINE_integer("num_seeds", None, "Train a population of N GANs (seeds seed..seed+N-1) as "
                     "one vmapped step.")
flags.DEFINE_bool("same_data_order", None, "Population members read the data in one order "
                  "(default: each its own seed's).")
flags.DEFINE_float("lr_g", None, "Generator learning rate (config.optim.g.lr).")
flags.DEFINE_float("lr_d", None, "Discriminator learning rate (config.optim.d.lr).")
flags.DEFINE_string("coordinator_address", None, "Multi-process: host:port of process 0 "
                    "(jax.distributed); with --num_processes and --process_id.")
flags.DEFINE_integer("num_processes", None, "Multi-process: how many processes the job has.")
flags.DEFINE_integer("process_id", None, "Multi-process: this process's index, 0..n-1.")
flags.DEFINE_bool("distributed", False, "Multi-process, as JAX detects it (SLURM, Open MPI, a "
                  "TPU VM): no address, count or index to give.")
flags.DEFINE_integer("heartbeat_seconds", 30, "Multi-process: a process silent this long ends the "
                     "job (every process exits).", lower_bound=1)
flags.DEFINE_integer("join_seconds", 300, "Multi-process: a process that cannot join the job "
                     "this long ends.", lower_bound=1)
FLAGS = flags.FLAGS


def main(argv):
    del argv
    config = CONFIG.value
    job = (FLAGS.coordinator_address, FLAGS.num_processes, FLAGS.process_id, FLAGS.distributed)
    if distributed.asked(*job) and not supervisor.inside():  # trains in a child: one-line ends
        sys.exit(supervisor.run(FLAGS.process_id))
    if config.deterministic:  # read when the backend starts, which nothing has asked for yet
        os.environ["XLA_FLAGS"] = " ".join(
            [os.environ.get("XLA_FLAGS", ""), "--xla_gpu_deterministic_ops=true"]).strip()
    supervisor.settle()
    distributed.initialize(*job, FLAGS.heartbeat_seconds, FLAGS.join_seconds)
    supervisor.mark()
    if FLAGS.dataset:
        datasets.use(config, FLAGS.dataset, set(config_flags.get_override_values(FLAGS["config"])))
    override(
        config,
        {
            "prior.latent_dim": FLAGS.latent_dim,
            "epochs": FLAGS.epochs,
            "num_steps": FLAGS.num_steps,
            "batch_size": FLAGS.batch_size,
            "seed": FLAGS.seed,
            "num_seeds": FLAGS.num_seeds,
            "same_data_order": FLAGS.same_data_order,
            "optim.g.lr": FLAGS.lr_g,
            "optim.d.lr": FLAGS.lr_d,
            "data_dir": FLAGS.data_dir,
        },
    )
    if config.data_dir:  # saved absolute, so that evaluate.py --workdir finds it from anywhere
        config.data_dir = str(Path(config.data_dir).expanduser().resolve())
    workdir = FLAGS.workdir or f"runs/{config.variant}"
    train_and_evaluate(config, workdir, make_evaluator=quality.evaluator)
    if distributed.primary():
        print(f"done: {workdir}")


if __name__ == "__main__":
    app.run(fail(main), argv=ARGV, flags_parser=parse_flags)
