"""vanilla, wgan_gp, hinge and san keep their numbers: a short run's final G and D parameters are
pinned by checksum, recorded before the step became generic (commit c586278).

XLA's CPU kernels sum in an order that depends on the instruction set and the XLA version, so the
exact checksum is recorded per (CPU class, jax version). Elsewhere the test falls back to 64
pinned elements per network, which must agree within Adam's bound on 4 steps of float32 drift;
`python tests/test_pinned_bits.py --record` (run on the pre-refactor commit) adds a class.
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from jaxgan.data.mnist import load_mnist  # noqa: E402
from jaxgan.mesh import make_mesh  # noqa: E402
from jaxgan.train import Trainer  # noqa: E402
from jaxgan.variant_files import load_variant_config  # noqa: E402

PINNED = ROOT / "tests" / "fixtures" / "pinned_bits.json"
SMALL_MNIST = ROOT / "tests" / "data" / "mnist"
VARIANTS = ("vanilla", "wgan_gp", "hinge", "san")
STEPS = 4
SAMPLED = 64


def cpu_class() -> str:
    flags = ""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        pass
    isa = "avx512" if "avx512f" in flags else "avx2" if "avx2" in flags else "base"
    return f"{platform.machine()}-{isa}-jax{jax.__version__}"


def _config(variant: str, workdir_data: Path):
    config = load_variant_config(variant)
    config.num_steps = STEPS
    config.steps_per_call = STEPS
    config.data_dir = str(workdir_data)
    config.grid_samples = 4
    return config


def networks(state) -> dict:
    """The G and D parameters of a final state, as numpy trees."""
    return jax.device_get({"g": state.params["g"], "d": state.params["d"]})


def _leaves(tree) -> list[tuple[str, np.ndarray]]:
    flat = jax.tree_util.tree_flatten_with_path(tree)[0]
    return sorted((jax.tree_util.keystr(p), np.asarray(v)) for p, v in flat)


def digest(tree) -> str:
    h = hashlib.sha256()
    for path, value in _leaves(tree):
        h.update(path.encode())
        h.update(np.ascontiguousarray(value, np.float32).tobytes())
    return h.hexdigest()


def sampled(tree) -> dict[str, list[float]]:
    """64 elements of each leaf at fixed positions."""
    out = {}
    for path, value in _leaves(tree):
        flat = value.ravel()
        idx = np.random.default_rng(0).integers(0, flat.size, SAMPLED)
        out[path] = [float(v) for v in flat[idx]]
    return out


def run(variant: str, tmp: Path) -> dict:
    """The final state of `train_and_evaluate`'s loop: one dispatch of STEPS steps from a fresh
    state (the recorded runs went through `train_and_evaluate`, which does exactly this)."""
    del tmp
    config = _config(variant, SMALL_MNIST)
    images, labels = load_mnist(SMALL_MNIST, "train")
    trainer = Trainer(config, make_mesh(), len(images))
    state, _ = trainer.run(trainer.init_state(), trainer.put_data(images, labels), STEPS)
    return networks(state)


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="the pinned bits are XLA:CPU's; "
                    f"this run's backend is {jax.default_backend()}")
@pytest.mark.parametrize("variant", VARIANTS)
def test_old_variants_keep_their_bits(variant, tmp_path):
    pinned = json.loads(PINNED.read_text())[variant]
    params = run(variant, tmp_path)
    cls = cpu_class()
    if cls in pinned["sha256"]:
        assert digest(params) == pinned["sha256"][cls]
        return
    config = _config(variant, SMALL_MNIST)
    bound = 6.4 * max(config.optim.g.lr, config.optim.d.lr) * STEPS
    for path, values in sampled(params).items():
        np.testing.assert_allclose(
            values, pinned["sampled"][path], rtol=0, atol=bound, err_msg=path
        )


if __name__ == "__main__" and "--record" in sys.argv:
    import tempfile

    table = json.loads(PINNED.read_text()) if PINNED.is_file() else {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in VARIANTS:
            params = run(name, Path(tmp))
            entry = table.setdefault(name, {"sha256": {}})
            entry["sha256"][cpu_class()] = digest(params)
            entry.setdefault("sampled", sampled(params))
    PINNED.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")
    print(f"recorded {cpu_class()} in {PINNED}")
