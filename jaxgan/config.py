"""Run configuration: the defaults every variant config starts from, and JSON round-trips."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import ml_collections

# Fields that may change when a run is resumed: they steer the run, not the model or its numbers.
RUN_FIELDS = frozenset(
    {
        "epochs",
        "num_steps",
        "data_dir",
        "steps_per_call",
        "checkpoint_every",
        "keep_checkpoints",
        "log_every",
        "grid_samples",
    }
)
CONFIGS_DIR = Path(__file__).resolve().parents[1] / "configs"


def base_config() -> ml_collections.ConfigDict:
    """The course template's settings (the `vanilla` variant)."""
    c = ml_collections.ConfigDict()
    c.variant = "vanilla"
    c.latent_dim = 100
    c.batch_size = 64
    c.epochs = 100
    c.num_steps = 0  # total G steps; 0 means `epochs` full epochs
    c.seed = 0
    c.lr_g = 2e-4
    c.lr_d = 2e-4
    c.lr_halve_epoch = 0  # E > 0: every learning rate halves after E data epochs
    c.b1 = 0.9
    c.b2 = 0.999
    c.n_critic = 1
    c.gp_weight = 10.0
    c.san_loss = "hinge"
    c.steps_per_call = 50
    c.checkpoint_every = 5000
    c.keep_checkpoints = 3
    c.log_every = 10
    c.grid_samples = 64
    c.data_dir = ""
    return c


def variant_names(configs_dir: Path = CONFIGS_DIR) -> list[str]:
    return sorted(p.stem for p in configs_dir.glob("*.py") if not p.stem.startswith("_"))


def load_variant_config(name: str, configs_dir: Path = CONFIGS_DIR) -> ml_collections.ConfigDict:
    """`get_config()` of `configs/<name>.py`; an unknown name lists the valid ones."""
    path = configs_dir / f"{name}.py"
    if not path.is_file():
        raise ValueError(
            f"unknown variant {name!r}; valid: {', '.join(variant_names(configs_dir))}"
        )
    spec = importlib.util.spec_from_file_location(f"jaxgan_configs_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_config()


# field -> (check, what it must be): the numeric fields a run cannot start without
_VALID = {
    "latent_dim": (lambda v: v >= 1, "an integer >= 1"),
    "batch_size": (lambda v: v >= 1, "an integer >= 1"),
    "epochs": (lambda v: v >= 0, "an integer >= 0"),
    "num_steps": (lambda v: v >= 0, "an integer >= 0 (0: use --epochs)"),
    "n_critic": (lambda v: v >= 1, "an integer >= 1"),
    "lr_g": (lambda v: v > 0, "> 0"),
    "lr_d": (lambda v: v > 0, "> 0"),
    "b1": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "b2": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "gp_weight": (lambda v: v >= 0, ">= 0"),
    "lr_halve_epoch": (lambda v: v >= 0, "an integer >= 0 (0: constant rates)"),
    "steps_per_call": (lambda v: v >= 1, "an integer >= 1"),
    "checkpoint_every": (lambda v: v >= 1, "an integer >= 1"),
    "keep_checkpoints": (lambda v: v >= 1, "an integer >= 1"),
    "log_every": (lambda v: v >= 1, "an integer >= 1"),
    "grid_samples": (lambda v: v >= 1, "an integer >= 1"),
}


def validate(config) -> None:
    """Raises ValueError naming every field whose value no run can use, and what it must be."""
    bad = [
        f"{name}={config[name]!r} (must be {what})"
        for name, (ok, what) in _VALID.items()
        if name in config and not ok(config[name])
    ]
    if "epochs" in config and not config.num_steps and not config.epochs:
        bad.append("epochs=0 with num_steps=0 (one of them must be > 0)")
    if bad:
        raise ValueError("invalid config: " + "; ".join(bad))


def to_json(config) -> str:
    return json.dumps(config.to_dict(), indent=2, sort_keys=True)


def from_json(text: str) -> ml_collections.ConfigDict:
    return ml_collections.ConfigDict(json.loads(text))


def mismatches(saved: dict, current: dict) -> list[str]:
    """Model-defining fields that differ between a saved run's config and the current one."""
    keys = (set(saved) | set(current)) - RUN_FIELDS
    return sorted(k for k in keys if saved.get(k) != current.get(k))
