"""A population on a members × data mesh of four fake CPU devices (run by tests/test_mesh.py in a
subprocess, since the device count is fixed before jax loads).

Checks, printing one JSON line and exiting 0 when all hold:
- layout: on the 4×1 mesh each device holds one member of every parameter and optimiser leaf;
- numbers and checkpoints: a population trained half way on 4×1 and resumed on 2×2, and one
  trained half way on 2×2 and resumed on a single device, each end where the one-device run does
  (integer leaves exactly, floats within Adam's bound, see tests/multidevice_check.py): Orbax
  reshards the checkpoint onto the new mesh.
"""

from __future__ import annotations

import os

os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4"
).strip()
os.environ["JAX_PLATFORMS"] = "cpu"

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import jax  # noqa: E402
from tree_compare import compare, restored  # noqa: E402

from jaxgan.mesh import make_mesh  # noqa: E402
from jaxgan.train import Trainer, train_and_evaluate  # noqa: E402
from jaxgan.variant_files import load_variant_config  # noqa: E402

STEPS = 4


def _config(data_dir: str, mesh: tuple[int, int], steps: int):
    c = load_variant_config("vanilla")
    c.batch_size, c.num_seeds, c.num_steps, c.steps_per_call = 64, 4, steps, 2
    c.nets.g_hidden, c.nets.d_hidden = (32, 64), (64, 32)
    c.data_dir, c.eval_every, c.tensorboard, c.checkpoint_every = data_dir, 0, False, 2
    c.mesh.members, c.mesh.data = mesh
    return c


def _layout(trainer: Trainer) -> bool:
    """Every member-stacked leaf has 4 shards of one member each, on 4 distinct devices."""
    state = trainer.init_state()
    for leaf in jax.tree.leaves((state.params, state.opt_state)):
        shards = leaf.addressable_shards
        if len({s.device for s in shards}) != 4 or any(s.data.shape[0] != 1 for s in shards):
            return False
    return True


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data_dir", required=True)
    parser.add_argument("--workdir", required=True)
    args = parser.parse_args()
    if len(jax.devices()) != 4:
        print(f"expected 4 fake CPU devices, got {jax.devices()}", file=sys.stderr)
        return 2
    root = Path(args.workdir)
    one = _config(args.data_dir, (1, 1), STEPS)
    bound = 6.4 * 2e-4 * STEPS  # Adam moves an entry by at most ~3.2·lr an update, lr 2e-4
    out = {"layout": _layout(Trainer(_config(args.data_dir, (4, 1), STEPS), make_mesh(
        jax.devices(), 4), 2000)), "bound": bound}

    def run(name, *meshes):
        """Trains to STEPS, the first half on meshes[0] and the rest on meshes[-1]."""
        workdir = root / name
        train_and_evaluate(_config(args.data_dir, meshes[0], STEPS // 2), workdir, progress=False)
        train_and_evaluate(_config(args.data_dir, meshes[-1], STEPS), workdir, progress=False)
        return restored(workdir, one)

    reference = run("one", (1, 1))
    for name, meshes in {"4x1_then_2x2": [(4, 1), (2, 2)], "2x2_then_1": [(2, 2), (1, 1)]}.items():
        worst, fraction, ints_equal, where = compare(reference, run(name, *meshes), 1e-5)
        out[name] = [worst, fraction, ints_equal]
        print(f"{name}: max |diff| {worst:.3g} at {where}; {fraction:.2e} beyond 1e-5; "
              f"integers equal: {ints_equal}", file=sys.stderr)
    print(json.dumps(out))
    ok = out["layout"] and all(w <= bound and f <= 1e-2 and i for w, f, i in
                               (v for k, v in out.items() if isinstance(v, list)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
