"""Writes samples of a trained run: `python bin/sample.py --workdir=runs/san --num_samples=10000`
(without --workdir: the most recently trained run under runs/).

PNG output is the course's: `0.png … N-1.png`, 28×28, three equal channels (readable
by pytorch-fid), plus `<out>_grid.png` beside the folder (not in it, so FID reads only samples).
`--pixel_map=half` saves (x+1)/2; `clamp` the template's clip(x, 0, 1). A run on a 2-D toy writes
`samples.npz` (`points`) and a scatter plot `<out>_scatter.png` instead.

`--class=k` draws only component k of a labelled prior (ClusterGAN's one-hot k, a GM-GAN's
Gaussian k: digit k for the supervised ones). For ClusterGAN runs, `--latents=recall` uses the
"improving recall" labels (stratified, active entry ~ N(1.1, 0.15²)) and `--latents=gmm` draws z_n
from a Gaussian mixture fitted on the encoder's codes of the MNIST test images.

A run trained with `--config.ema_decay=d` > 0 is sampled with its EMA of G's weights, and with
G itself under `--raw_g`; the last line names the G used.

One post-hoc sampler may refine the samples (`jaxgan/samplers/`): `--drs`, `--mh`, `--obrs`,
`--ddls_steps=N`, `--dgflow_steps=N`, `--guide_class=k`. It prints how D's score was read as a
density ratio, the acceptance rate, the candidates drawn and the wall time.
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from jaxgan import datasets, viz  # noqa: E402
from jaxgan.cli import fail  # noqa: E402
from jaxgan.data import toy2d  # noqa: E402
from jaxgan.generate import generate_raw  # noqa: E402
from jaxgan.run import Run  # noqa: E402
from jaxgan.runs import workdir_or_latest  # noqa: E402
from jaxgan.samplers.refine import sample_with, to_outputs  # noqa: E402
from jaxgan.samples_io import check_out, write_samples  # noqa: E402
from jaxgan.state import g_name  # noqa: E402

flags.DEFINE_string("workdir", None, "Training run directory (its latest checkpoint is used; "
                    "default: the most recently trained run under runs/).")
flags.DEFINE_integer("num_samples", 10000, "Number of samples.", lower_bound=1)
flags.DEFINE_string("out", None, "Output directory (default <workdir>/samples, or "
                    "<workdir>/samples_member_<i> with --member).")
flags.DEFINE_integer("member", None, "Which GAN of a population (bin/train.py --num_seeds).",
                     lower_bound=0)
flags.DEFINE_integer("seed", 0, "Sampling seed.")
flags.DEFINE_bool("raw_g", False, "G itself, not the EMA of G a run with ema_decay > 0 keeps.")
flags.DEFINE_enum("pixel_map", "half", ["half", "clamp"], "tanh output -> [0, 1] mapping.")
flags.DEFINE_enum("format", "png", ["png", "npz", "both"], "Output format.")
flags.DEFINE_integer("class", None, "Only this component of a labelled prior.", lower_bound=0)
flags.DEFINE_enum("latents", "prior", ["prior", "recall", "gmm"],
                  "prior: the trained prior; recall, gmm: ClusterGAN's sampling options.")
flags.DEFINE_string("data_dir", None, "MNIST for --latents=gmm and calibration (default: the "
                    "run's own).")
# samplers
flags.DEFINE_bool("drs", False, "Discriminator rejection sampling.")
flags.DEFINE_float("drs_gamma", None, "DRS shift γ (default: the --drs_percentile of F per batch).")
flags.DEFINE_float("drs_percentile", 95.0, "DRS: γ as this percentile of F.")
flags.DEFINE_integer("drs_burn_in", 10000, "DRS: samples that set the first max of d.")
flags.DEFINE_float("drs_eps", 1e-6, "DRS ε.")
flags.DEFINE_bool("mh", False, "MH-GAN: independence Metropolis–Hastings on a calibrated D.")
flags.DEFINE_integer("mh_steps", 640, "MH: proposals per chain (one chain per sample).")
flags.DEFINE_bool("obrs", False, "Optimal budgeted rejection sampling.")
flags.DEFINE_float("obrs_budget", 2.0, "OBRS: candidates per kept sample (>= 1).")
flags.DEFINE_integer("ddls_steps", None, "DDLS: Langevin steps in latent space.")
flags.DEFINE_float("ddls_eps", 0.01, "DDLS step size ε.")
flags.DEFINE_float("ddls_noise", 1.0, "DDLS noise scale (1: exact Langevin).")
flags.DEFINE_integer("dgflow_steps", None, "DGflow: steps of the latent gradient flow.")
flags.DEFINE_enum("dgflow_div", "KL", ["KL", "JS", "logD"], "DGflow f-divergence.")
flags.DEFINE_float("dgflow_eta", 0.1, "DGflow step size η.")
flags.DEFINE_float("dgflow_gamma", 0.01, "DGflow noise γ.")
flags.DEFINE_integer("guide_class", None, "Gradient ascent on z toward this digit (classifier).")
flags.DEFINE_integer("guide_steps", 100, "Guided ascent: Adam steps.")
flags.DEFINE_float("guide_lr", 0.1, "Guided ascent: Adam learning rate.")
flags.DEFINE_enum("calibrate", "auto", ["auto", "always", "never"],
                  "Logistic calibration of D's score (auto: when D is not BCE-trained, and MH).")
flags.DEFINE_integer("calibration_samples", 5000, "Held-out real samples for the calibration.")
FLAGS = flags.FLAGS


def chosen_sampler():
    """(name, options) of the one sampler the flags ask for, or (None, {})."""
    f = FLAGS
    chosen = {
        "drs": f.drs and {"gamma": f.drs_gamma, "percentile": f.drs_percentile,
                          "burn_in": f.drs_burn_in, "eps": f.drs_eps},
        "mh": f.mh and {"steps": f.mh_steps},
        "obrs": f.obrs and {"budget": f.obrs_budget},
        "ddls": f.ddls_steps is not None and {"steps": f.ddls_steps, "eps": f.ddls_eps,
                                              "noise": f.ddls_noise},
        "dgflow": f.dgflow_steps is not None and {"steps": f.dgflow_steps,
                                                  "divergence": f.dgflow_div,
                                                  "eta": f.dgflow_eta, "gamma": f.dgflow_gamma},
        "guide": f.guide_class is not None and {"target": f.guide_class, "steps": f.guide_steps,
                                                "lr": f.guide_lr},
    }
    chosen = {k: v for k, v in chosen.items() if v is not False}
    if len(chosen) > 1:
        raise ValueError(f"choose one sampler, not {len(chosen)} ({', '.join(chosen)})")
    return next(iter(chosen.items()), (None, {}))


def main(argv):
    del argv
    start = time.perf_counter()
    name, options = chosen_sampler()
    if name and (FLAGS["class"].value is not None or FLAGS.latents != "prior"):
        raise ValueError("a sampler refines the trained prior's samples: drop --class/--latents")
    workdir = workdir_or_latest(FLAGS.workdir)
    default = "samples" if FLAGS.member is None else f"samples_member_{FLAGS.member}"
    out = Path(FLAGS.out or Path(workdir) / default)
    check_out(out, FLAGS.num_samples, FLAGS.format)  # before the work, not after
    run = Run.open(workdir, FLAGS.member, FLAGS.raw_g)
    config = run.config
    if name:
        x, info = sample_with(run, FLAGS.num_samples, name, options, FLAGS.seed,
                              FLAGS.calibrate, FLAGS.calibration_samples, FLAGS.data_dir)
    else:
        x = generate_raw(run, FLAGS.num_samples, FLAGS.seed, class_label=FLAGS["class"].value,
                         latents=FLAGS.latents, data_dir=FLAGS.data_dir)
    samples = to_outputs(config, x, FLAGS.pixel_map)
    if datasets.get(config.dataset).is_image:
        write_samples(samples, out, FLAGS.format, pixel_map=FLAGS.pixel_map)
    else:
        out.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(out / "samples.npz", points=samples, dataset=config.dataset)
        title = f"{config.variant} on {config.dataset}" + (f", {name}" if name else "")
        viz.scatter_modes(samples, toy2d.centres(config.dataset),
                          out.parent / f"{out.name}_scatter.png", title=title)
    what = f"{FLAGS.latents} latents" + (f", class {FLAGS['class'].value}"
                                          if FLAGS["class"].value is not None else "")
    if name:
        print(f"{name}: {info['critic']}")
        print(f"{name}: acceptance {info['acceptance']:.4f}, {info['attempts']} candidates for "
              f"{len(samples)} samples, {info['seconds']:.1f} s wall" +
              "".join(f", {k} {v:.4g}" for k, v in info.items()
                      if k not in ("critic", "acceptance", "attempts", "seconds", "sampler")))
        what = name
    which = g_name(config, FLAGS.raw_g)
    what += f", {which}" if which else ""
    print(f"wrote {len(samples)} samples ({FLAGS.pixel_map}, {what}) to {out} "
          f"({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    app.run(fail(main))
