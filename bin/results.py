"""Regenerates the project's results table (every variant × seeds, the samplers on the best three):

    python bin/results.py --out=results --epochs=1 --num_seeds=3 --update=BENCHMARKS.md

Resumes what is done. Writes <out>/report/REPORT.md (tables, grids, loss curves, a precision-recall
scatter); --update also puts the tables into BENCHMARKS.md. Stages: benchmarks/results.py.
"""

import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from absl import app, flags  # noqa: E402

from benchmarks import results  # noqa: E402
from jaxgan.cli import fail  # noqa: E402
from jaxgan.variant_files import variant_names  # noqa: E402

flags.DEFINE_string("out", "results", "Folder of the runs, reports and REPORT.md.")
flags.DEFINE_list("variants", None, "Variants to train (default: every configs/ file).")
flags.DEFINE_integer("epochs", 1, "Epochs of every variant (the fixed budget).", lower_bound=1)
flags.DEFINE_integer("num_steps", 0, "G steps of every variant instead of --epochs (0: use "
                     "--epochs; for a quick look).", lower_bound=0)
flags.DEFINE_integer("num_seeds", 3, "Seeds per variant, trained as one population.",
                     lower_bound=1)
flags.DEFINE_integer("num_samples", 5000, "Samples scored per member and per sampler.",
                     lower_bound=10)
flags.DEFINE_integer("best", 3, "Run every sampler on this many of the best variants.",
                     lower_bound=0)
flags.DEFINE_integer("sampler_members", 1, "Members of each best variant the samplers run on.",
                     lower_bound=1)
flags.DEFINE_integer("inception_samples", 0, "Inception FID/P/R of the best variants' member 0 "
                     "on this many samples (0: skip; needs --inception_weights).", lower_bound=0)
flags.DEFINE_string("inception_weights", None, "FID Inception weights (e.g. default_1.pt).")
flags.DEFINE_string("data_dir", None, "MNIST IDX directory (default $JAXGAN_DATA_DIR).")
flags.DEFINE_string("update", None, "Also write the tables into this Markdown file "
                    "(between <!-- BLOCK:begin --> and <!-- BLOCK:end -->, BLOCK: --block).")
flags.DEFINE_string("block", "results", "Name of the table block --update replaces.")
flags.DEFINE_multi_string("set", [], "Config overrides of every variant, field=value as after "
                          "--config. (repeat the flag, or separate them by commas outside "
                          "brackets), e.g. --set=nets.d=conv,ema_decay=0.999 "
                          "--set=nets.d_channels=(32,64). Other overrides need another --out.")
flags.DEFINE_bool("raw_g", False, "Also score G itself of every run that keeps an EMA of G "
                  "(a `<variant>, raw G` row).")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    settings = results.Settings(
        out=Path(FLAGS.out), variants=FLAGS.variants or variant_names(), epochs=FLAGS.epochs,
        steps=FLAGS.num_steps, num_seeds=FLAGS.num_seeds, num_samples=FLAGS.num_samples,
        best=FLAGS.best,
        sampler_members=FLAGS.sampler_members, inception_samples=FLAGS.inception_samples,
        inception_weights=FLAGS.inception_weights, data_dir=FLAGS.data_dir,
        overrides=results.split_overrides(FLAGS.set), raw_g=FLAGS.raw_g)
    command = "python bin/results.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    path, markdown = results.regenerate(settings, command,
                                        say=lambda line: print(line, flush=True))
    if FLAGS.update:
        results.update_benchmarks(Path(FLAGS.update), markdown, FLAGS.block)
        print(f"updated {FLAGS.update}")
    print(f"wrote {path}")


if __name__ == "__main__":
    app.run(fail(main))
