"""Latent-space plots of a trained run.

    python bin/plot_latent.py --plot=tsne --workdir=runs/clustergan --out=plots/clustergan_tsne
    python bin/plot_latent.py --plot=interp --workdir=runs/san --out=plots/san_interp
    python bin/plot_latent.py --plot=interp --workdir=runs/clustergan --classes=3,8 --out=cg_3to8
    python bin/plot_latent.py --plot=pr --evals=plain:a.json,drs:b.json --out=plots/san_pr

`tsne`: t-SNE of prior latents coloured by the project's classifier's digit for G(z), and of the
encoder's codes of MNIST test images (runs with an encoder). `interp`: G along straight lines
between two latents per row, or between two components' labels with the same noise. `pr`:
precision against recall from `bin/evaluate.py --json` reports, one point per sampler. Without
--workdir, `tsne` and `interp` plot the most recently trained run under runs/. They use the
run's EMA of G where it keeps one (`--config.ema_decay`), G itself with --raw_g.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from absl import app, flags  # noqa: E402

from jaxgan import latent_plots  # noqa: E402
from jaxgan.cli import fail  # noqa: E402
from jaxgan.config import try_load_config  # noqa: E402
from jaxgan.runs import workdir_or_latest  # noqa: E402
from jaxgan.state import g_name  # noqa: E402

flags.DEFINE_enum("plot", None, ["tsne", "interp", "pr"], "Which plot.", required=True)
flags.DEFINE_string("workdir", None, "Training run directory (tsne, interp; default: the most "
                    "recently trained run under runs/).")
flags.DEFINE_integer("member", None, "Which GAN of a population workdir.", lower_bound=0)
flags.DEFINE_bool("raw_g", False, "tsne, interp: G itself, not the EMA of G the run keeps.")
flags.DEFINE_string("out", None, "Output path without extension.", required=True)
flags.DEFINE_integer("num", 2000, "tsne: points per panel.", lower_bound=10)
flags.DEFINE_integer("seed", 0, "Latent and t-SNE seed.")
flags.DEFINE_string("data_dir", None, "MNIST for the encoder panel (default: the run's own).")
flags.DEFINE_integer("pairs", 8, "interp: rows.", lower_bound=1)
flags.DEFINE_integer("steps", 10, "interp: images per row.", lower_bound=2)
flags.DEFINE_list("classes", None, "interp: two component labels a,b.")
flags.DEFINE_list("evals", None, "pr: label:report.json pairs.")
flags.DEFINE_string("title", "", "pr: the plot's title.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    command, which = FLAGS.plot, None
    if command != "pr":
        workdir = workdir_or_latest(FLAGS.workdir)
        config = try_load_config(workdir)
        which = config and g_name(config, FLAGS.raw_g)
    if command == "tsne":
        written = latent_plots.tsne(workdir, FLAGS.out, FLAGS.num, FLAGS.seed,
                                    FLAGS.data_dir, FLAGS.member, FLAGS.raw_g)
    elif command == "interp":
        classes = None
        if FLAGS.classes:
            if len(FLAGS.classes) != 2 or not all(c.isdigit() for c in FLAGS.classes):
                raise ValueError(f"--classes={','.join(FLAGS.classes)}: give two labels a,b")
            classes = tuple(int(c) for c in FLAGS.classes)
        written = [latent_plots.interpolations(workdir, FLAGS.out, FLAGS.pairs,
                                               FLAGS.steps, FLAGS.seed, classes,
                                               FLAGS.member, FLAGS.raw_g)]
    else:
        pairs = [e.partition(":") for e in FLAGS.evals or []]
        if not pairs or any(not label or not path for label, _, path in pairs):
            raise ValueError("pr needs --evals=label:report.json,...")
        written = [latent_plots.pr_points({label: path for label, _, path in pairs}, FLAGS.out,
                                          FLAGS.title)]
    for path in written:
        print(f"wrote {path}" + (f" ({which})" if which else ""))


if __name__ == "__main__":
    app.run(fail(main))
