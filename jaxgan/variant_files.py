"""The variants' config files, `configs/<name>.py`: their names, and loading one.

Kept apart from `jaxgan.config` so that listing and loading variants imports no jax, and so that
`jaxgan.optim` can read a variant's own nodes while `jaxgan.config` builds nodes with it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import ml_collections

CONFIGS_DIR = Path(__file__).resolve().parents[1] / "configs"


def variant_names(configs_dir: Path = CONFIGS_DIR) -> list[str]:
    return sorted(p.stem for p in configs_dir.glob("*.py") if not p.stem.startswith("_"))


def load_variant_config(name: str, configs_dir: Path = CONFIGS_DIR) -> ml_collections.ConfigDict:
    """`get_config()` of `configs/<name>.py`; an unknown name lists the valid ones."""
    path = configs_dir / f"{name}.py"
    if not path.is_file():
        raise ValueError(
            f"unknown variant {name!r}; valid: {', '.join(variant_names(configs_dir))}"
        )
    return load_config_file(path)


def load_config_file(path: str | Path) -> ml_collections.ConfigDict:
    """`get_config()` of the config file at `path`."""
    spec = importlib.util.spec_from_file_location(f"jaxgan_configs_{Path(path).stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_config()
