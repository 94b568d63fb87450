"""Imports the course template's PyTorch checkpoint into a jaxgan workdir (no PyTorch needed):

    python bin/import_torch.py --g=checkpoints/G.pth --d=checkpoints/D.pth --workdir=runs/student
    python bin/sample.py --workdir=runs/student --dgflow_steps=25
    python bin/evaluate.py --workdir=runs/student

What is read and how: jaxgan/import_torch.py.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from absl import app, flags  # noqa: E402

from jaxgan.cli import fail  # noqa: E402
from jaxgan.import_torch import import_template  # noqa: E402

flags.DEFINE_string("g", None, "The template's G.pth (state dict of its Generator).",
                    required=True)
flags.DEFINE_string("d", None, "The template's D.pth (state dict of its Discriminator).",
                    required=True)
flags.DEFINE_string("workdir", None, "The jaxgan workdir to write (must hold no checkpoint).",
                    required=True)
flags.DEFINE_string("data_dir", None, "MNIST IDX directory saved in the workdir's config (for "
                    "evaluate.py and calibration; default $JAXGAN_DATA_DIR).")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    for name in ("g", "d"):
        if not Path(FLAGS[name].value).is_file():
            raise FileNotFoundError(f"--{name}={FLAGS[name].value}: no such file")
    workdir = import_template(FLAGS.g, FLAGS.d, FLAGS.workdir, FLAGS.data_dir)
    print(f"wrote {workdir} (the vanilla variant at step 0 with the template's G and D)")


if __name__ == "__main__":
    app.run(fail(main))
