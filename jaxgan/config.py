"""Run configuration: the template's defaults, per-concern subtrees, and JSON round-trips.

A config is a run's loop settings at the top level plus one subtree per concern, each validated by
the code that uses it:

- `prior`     the latent prior, by `name` (`jaxgan.priors`);
- `objective` the D and G losses, by `name` (`jaxgan.objectives`);
- `nets`      the widths of G, D and the encoder (`jaxgan.models`);
- `optim`     one optimiser per trained network (`g`, `d`, `prior`, `enc`), by `name`, each node
              holding every optimiser's fields (`jaxgan.optim`), and the rates' decay epochs;
- `mesh`      devices on the `members` and `data` axes (`jaxgan.mesh`; may change on resume).
"""

from __future__ import annotations

import json
from pathlib import Path

import ml_collections

from jaxgan import optim
from jaxgan.variant_files import load_variant_config

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
        "eval_every",
        "eval_samples",
        "keep_best",
        "tensorboard",
        "init_from",
        "mesh",
        "deterministic",
    }
)


def adam(lr: float, *args, **kwargs) -> dict:
    """One network's Adam node: `adam(lr, b1, b2, weight_decay, eps_root, clip)` as
    `jaxgan.optim`'s Adam takes them (`weight_decay` PyTorch's coupled L2), and every other
    registered optimiser's field at its default, so that any of them can be set."""
    return optim.settings("adam", lr, *args, **kwargs)


def rmsprop(lr: float, *args, **kwargs) -> dict:
    """One network's RMSprop node (PyTorch's defaults): `rmsprop(lr, decay, clip, weight_decay)`,
    `clip` > 0 clipping every weight; every other registered field at its default."""
    return optim.settings("rmsprop", lr, *args, **kwargs)


def base_config() -> ml_collections.ConfigDict:
    """The course template's settings (the `vanilla` variant)."""
    c = ml_collections.ConfigDict()
    c.variant = "vanilla"
    c.seed = 0
    c.num_seeds = 1  # N > 1: a population of N GANs, seeds seed..seed+N-1, trained as one
    c.same_data_order = False  # population members read the data in member 0's order
    c.dataset = "mnist"  # or a 2-D toy, "ring8", "grid25" (`jaxgan.datasets`)
    c.data_dir = ""
    c.batch_size = 64
    c.n_critic = 1  # D updates per G update
    c.ema_decay = 0.0  # d > 0: keep ema ← d·ema + (1 − d)·G after each G step; samples use it
    c.epochs = 100
    c.num_steps = 0  # total G steps; 0 means `epochs` full epochs
    c.steps_per_call = 50
    c.checkpoint_every = 5000
    c.keep_checkpoints = 3
    c.log_every = 10
    c.grid_samples = 64
    c.eval_every = 1  # E > 0: score the sampling G every E epochs (bin/train.py); 0: never
    c.eval_samples = 2000  # samples per member each in-loop evaluation scores
    c.keep_best = False  # keep the checkpoint of the best in-loop FD in <workdir>/best
    c.tensorboard = True  # TensorBoard events in <workdir>/tensorboard
    c.init_from = ""  # a workdir (e.g. runs/x/best) whose checkpoint a new run starts from
    c.mesh = {"members": 0, "data": 0}  # devices per axis (jaxgan.mesh); 0: chosen
    c.deterministic = False  # GPU: XLA's deterministic ops (bin/train.py sets the XLA flag)
    c.prior = {"name": "gaussian", "latent_dim": 100, "std": 1.0}
    c.objective = {"name": "bce"}
    c.nets = {"g_hidden": (256, 512, 1024), "d_hidden": (1024, 512, 256), "g_out_scale": 1.0,
              "d": "mlp", "d_channels": (64, 128)}  # D: "mlp" (d_hidden) or "conv" (d_channels)
    c.optim = {
        "g": adam(2e-4),
        "d": adam(2e-4),
        "prior": adam(2e-4),
        "lr_decay_epochs": (),  # every learning rate is multiplied by lr_decay_factor after
        "lr_decay_factor": 0.5,  # each of these data epochs (increasing; (): constant)
        "lr_halve_epoch": 0,  # E > 0: an alias of lr_decay_epochs=(E,), lr_decay_factor=0.5
    }
    return ml_collections.ConfigDict(c)


# field -> (check, what it must be): the loop's fields a run cannot start without
_VALID = {
    "batch_size": (lambda v: v >= 1, "an integer >= 1"),
    "num_seeds": (lambda v: v >= 1, "an integer >= 1"),
    "n_critic": (lambda v: v >= 1, "an integer >= 1"),
    "ema_decay": (lambda v: 0 <= v < 1, "in [0, 1); 0: no EMA of G"),
    "epochs": (lambda v: v >= 0, "an integer >= 0"),
    "num_steps": (lambda v: v >= 0, "an integer >= 0 (0: use --epochs)"),
    "steps_per_call": (lambda v: v >= 1, "an integer >= 1"),
    "checkpoint_every": (lambda v: v >= 1, "an integer >= 1"),
    "keep_checkpoints": (lambda v: v >= 1, "an integer >= 1"),
    "log_every": (lambda v: v >= 1, "an integer >= 1"),
    "grid_samples": (lambda v: v >= 1, "an integer >= 1"),
    "eval_every": (lambda v: v >= 0, "an integer >= 0 (0: no in-loop evaluation)"),
    "eval_samples": (lambda v: v > 5, "an integer > 5 (the k of coverage)"),
    "keep_best": (lambda v: isinstance(v, bool), "True or False"),
    "tensorboard": (lambda v: isinstance(v, bool), "True or False"),
    "init_from": (lambda v: isinstance(v, str), "a workdir's path"),
    "deterministic": (lambda v: isinstance(v, bool), "True or False"),
}
_CONCERNS = ("prior", "objective", "nets", "optim", "mesh")


def validate(config) -> None:
    """Raises ValueError naming every loop field whose value no run can use, and what it must be;
    the subtrees are checked by the code that builds them."""
    top = (set(_VALID) | {"variant", "seed", "same_data_order", "dataset", "data_dir"}
           | set(_CONCERNS))
    unknown = sorted(set(config) - top)
    if unknown:
        raise ValueError(
            f"unknown config field {unknown[0]!r}; valid: {', '.join(sorted(top))}"
        )
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


def flatten(tree: dict, prefix: str = "") -> dict[str, object]:
    """{"a": {"b": 1}} -> {"a.b": 1}, with tuples as lists (as JSON stores them)."""
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out |= flatten(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = json.loads(json.dumps(value))
    return out


class OldLayout(ValueError):
    pass


class SavedConfigError(ValueError):
    """A workdir's config.json that is not a config this version can read (one line)."""


def resolve_saved(saved: dict) -> ml_collections.ConfigDict:
    """A saved config.json with every field its variant's config has gained since filled in from
    today's defaults, so a run saved before a field existed resumes and samples as it was.

    Raises OldLayout for a run saved before the config had subtrees (its checkpoints hold the old
    state layout too, so it cannot be resumed or sampled by this version).
    """
    if "prior" not in saved and ("latent_dim" in saved or "lr_g" in saved):
        raise OldLayout(
            "this run was saved by jaxgan before its configs had subtrees (prior, objective, "
            "optim): its config and checkpoints use the old layout, which this version cannot "
            "read; sample it with jaxgan at commit c586278 or train it again"
        )
    current = load_variant_config(saved.get("variant", "vanilla")).to_dict()
    if isinstance(saved.get("optim"), dict):
        saved = {**saved, "optim": optim.schedule_alias(saved["optim"])}
    merged = _merge(current, saved)
    return ml_collections.ConfigDict(merged)


def _merge(defaults: dict, saved: dict, path: str = "") -> dict:
    # An optim node holds every optimiser's fields, so the variant's apply whatever its name.
    if "name" in saved and saved["name"] != defaults.get("name") and not path.startswith("optim."):
        return saved  # another prior or objective than the variant's: its defaults do not apply
    out = dict(defaults)
    for key, value in saved.items():
        if isinstance(value, dict) and isinstance(defaults.get(key), dict):
            out[key] = _merge(defaults[key], value, f"{path}{key}.")
        else:
            out[key] = value
    return out


def mismatches(saved: dict, current: dict) -> list[str]:
    """Model-defining fields (dotted) that differ between a saved run's config and the current one.

    A field either side lacks counts as its variant's default today, so adding a field with a
    default never refuses an old workdir (nor a config written before the field existed).
    """

    def resolved(config):
        try:
            return resolve_saved(config).to_dict()
        except OldLayout:
            raise
        except ValueError:  # a variant that no longer exists: compare as written
            return config

    a, b = flatten(resolved(saved)), flatten(resolved(current))
    keys = {k for k in set(a) | set(b) if k.split(".")[0] not in RUN_FIELDS}
    return sorted(k for k in keys if a.get(k) != b.get(k))


def read_saved(path: Path) -> dict:
    """A workdir's config.json as it was saved, or SavedConfigError in one line."""
    try:
        saved = json.loads(path.read_text())
    except ValueError as e:
        raise SavedConfigError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(saved, dict):
        raise SavedConfigError(f"{path}: not a training config (a JSON object of fields)")
    return saved


def load_config(workdir: str | Path):
    path = Path(workdir) / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found; is --workdir a training run's directory?")
    saved = read_saved(path)
    try:
        return resolve_saved(saved)
    except OldLayout:
        raise
    except ValueError as e:  # e.g. a variant this version does not have
        raise SavedConfigError(f"{path}: {e}") from None


def try_load_config(workdir: str | Path | None):
    """`load_config`, or None where it would raise: for the callers that only peek at a workdir
    and leave reporting a missing or broken one to the path that loads its checkpoint."""
    if workdir is None:
        return None
    try:
        return load_config(Path(workdir).expanduser())
    except (OSError, ValueError):
        return None
