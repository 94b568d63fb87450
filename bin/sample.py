"""Writes samples of a trained run: `python bin/sample.py --workdir=runs/san --num_samples=10000`.

PNG output is the course's: `0.png … N-1.png`, 28×28, three equal channels (readable
by pytorch-fid), plus `<out>_grid.png` beside the folder (not in it, so FID reads only samples).
`--pixel_map=half` saves (x+1)/2; `clamp` the template's clip(x, 0, 1).

`--class=k` draws only component k of a labelled prior (ClusterGAN's one-hot k, a GM-GAN's
Gaussian k: digit k for the supervised ones). For ClusterGAN runs, `--latents=recall` uses the
"improving recall" labels (stratified, active entry ~ N(1.1, 0.15²)) and `--latents=gmm` draws z_n
from a Gaussian mixture fitted on the encoder's codes of the MNIST test images.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from absl import app, flags  # noqa: E402

from jaxgan.cli import fail  # noqa: E402

flags.DEFINE_string(
    "workdir", None, "Training run directory (its latest checkpoint is used).", required=True
)
flags.DEFINE_integer("num_samples", 10000, "Number of images.", lower_bound=1)
flags.DEFINE_string("out", None, "Output directory (default <workdir>/samples).")
flags.DEFINE_integer("seed", 0, "Sampling seed.")
flags.DEFINE_enum("pixel_map", "half", ["half", "clamp"], "tanh output -> [0, 1] mapping.")
flags.DEFINE_enum("format", "png", ["png", "npz", "both"], "Output format.")
flags.DEFINE_integer("class", None, "Only this component of a labelled prior.", lower_bound=0)
flags.DEFINE_enum("latents", "prior", ["prior", "recall", "gmm"],
                  "prior: the trained prior; recall, gmm: ClusterGAN's sampling options.")
flags.DEFINE_string("data_dir", None, "MNIST for --latents=gmm (default: the run's own).")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    from jaxgan.generate import generate_images
    from jaxgan.samples_io import check_out, write_samples

    out = Path(FLAGS.out or Path(FLAGS.workdir) / "samples")
    check_out(out, FLAGS.num_samples, FLAGS.format)  # before the work, not after
    images = generate_images(
        FLAGS.workdir,
        FLAGS.num_samples,
        FLAGS.seed,
        FLAGS.pixel_map,
        class_label=FLAGS["class"].value,
        latents=FLAGS.latents,
        data_dir=FLAGS.data_dir,
    )
    write_samples(images, out, FLAGS.format, pixel_map=FLAGS.pixel_map)
    what = f"{FLAGS.latents} latents" + (f", class {FLAGS['class'].value}"
                                          if FLAGS["class"].value is not None else "")
    print(f"wrote {len(images)} samples ({FLAGS.pixel_map}, {what}) to {out}")


if __name__ == "__main__":
    app.run(fail(main))
