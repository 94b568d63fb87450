"""A course-template checkpoint (`G.pth`, `D.pth`: state dicts of its PyTorch `Generator` and
`Discriminator`) as a jaxgan workdir, read without PyTorch (`jaxgan.eval.torch_legacy`), so a
student's trained GAN can be sampled, refined with any sampler and evaluated like a jaxgan run.

The template's nets are `nn.Linear` MLPs (G 100→256→512→1024→784, D 784→1024→512→256→1) in
attribute order; `torch.nn.DataParallel`'s `module.` prefix is dropped. A Linear's weight (out, in)
becomes a kernel (in, out). D's last layer gives the logit its sigmoid was applied to, which is
what jaxgan's D returns. The workdir is the `vanilla` variant at step 0, with fresh optimiser
states: training it further starts Adam anew.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import jax
import numpy as np

from jaxgan import checkpoint, lock
from jaxgan.checkpoint import has_checkpoint
from jaxgan.config import to_json
from jaxgan.eval.torch_legacy import load_state_dict
from jaxgan.mesh import make_mesh
from jaxgan.train import Trainer
from jaxgan.variant_files import load_variant_config


class TemplateError(ValueError):
    """A state dict that is not the template's G or D; the message says what differs."""


def torch_linears(state: dict[str, np.ndarray], what: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """(weight (out, in), bias (out,)) of each Linear of a state dict, in the order of their names
    (`fc2` before `fc10`)."""
    state = {re.sub(r"^module\.", "", k): v for k, v in state.items()}
    names = sorted({k.rsplit(".", 1)[0] for k in state if k.endswith(".weight")},
                   key=lambda n: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", n)])
    layers = []
    for name in names:
        weight, bias = state[f"{name}.weight"], state.get(f"{name}.bias")
        if weight.ndim != 2 or bias is None or bias.shape != weight.shape[:1]:
            raise TemplateError(f"{what}: {name} is not an nn.Linear (weight {weight.shape}, "
                               f"bias {None if bias is None else bias.shape})")
        layers.append((weight, bias))
    unused = sorted(set(state) - {f"{n}.{p}" for n in names for p in ("weight", "bias")})
    if unused:
        raise TemplateError(f"{what}: entries that are not Linear layers: {', '.join(unused[:5])}")
    return layers


def _flax_layers(params: dict, input_dim: int) -> list[str]:
    """The names of a Flax MLP's dense layers in forward order, following the widths from the
    input (the modules' names are not their order)."""
    dense = params["params"]
    order, width = [], input_dim
    while len(order) < len(dense):
        nxt = [n for n in dense if n not in order and dense[n]["kernel"].shape[0] == width]
        if len(nxt) != 1:
            raise TemplateError(f"cannot order the layers from width {width}")
        order.append(nxt[0])
        width = dense[nxt[0]]["kernel"].shape[1]
    return order


def _fill(params: dict, layers: list, input_dim: int, what: str) -> dict:
    names = _flax_layers(params, input_dim)
    want = [tuple(params["params"][n]["kernel"].shape[::-1]) for n in names]
    got = [tuple(w.shape) for w, _ in layers]
    if got != want:
        raise TemplateError(f"{what}: Linear shapes (out, in) {got}; the template's are {want}")
    out = {n: {"kernel": np.ascontiguousarray(w.T, np.float32), "bias": b.astype(np.float32)}
           for n, (w, b) in zip(names, layers, strict=True)}
    return {"params": out}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def import_template(g_path: str | Path, d_path: str | Path, workdir: str | Path,
                    data_dir: str | None = None) -> Path:
    """Writes `workdir` (config.json, a step-0 checkpoint, imported_from.json) from the template's
    `G.pth` and `D.pth`; refuses a workdir that already holds a checkpoint."""

    workdir = Path(workdir)
    if has_checkpoint(workdir):
        raise TemplateError(f"{workdir} already holds a checkpoint; choose an empty --workdir")
    g_layers = torch_linears(load_state_dict(g_path), str(g_path))
    d_layers = torch_linears(load_state_dict(d_path), str(d_path))
    if not g_layers or not d_layers:
        raise TemplateError("a state dict without Linear layers")
    latent_dim = g_layers[0][0].shape[1]
    config = load_variant_config("vanilla")
    config.prior.latent_dim = int(latent_dim)
    config.data_dir = str(Path(data_dir).expanduser().resolve()) if data_dir else ""
    trainer = Trainer(config, make_mesh(jax.devices()[:1]), num_images=60000)
    state = jax.device_get(trainer.init_state())
    params = dict(state.params)
    params["g"] = _fill(params["g"], g_layers, latent_dim, str(g_path))
    params["d"] = _fill(params["d"], d_layers, d_layers[0][0].shape[1], str(d_path))
    state = state.replace(params=params)
    workdir.mkdir(parents=True, exist_ok=True)
    with lock.hold(workdir):
        if has_checkpoint(workdir):  # written by a run that started since the check above
            raise TemplateError(f"{workdir} already holds a checkpoint; choose an empty --workdir")
        (workdir / "config.json").write_text(to_json(config))
        mngr = checkpoint.manager(workdir, config.keep_checkpoints)
        try:
            checkpoint.save(mngr, state)
        finally:
            mngr.close()
        (workdir / "imported_from.json").write_text(json.dumps(
            {"G": str(Path(g_path).resolve()), "G_sha256": _sha256(Path(g_path)),
             "D": str(Path(d_path).resolve()), "D_sha256": _sha256(Path(d_path))}, indent=2)
            + "\n")
    return workdir
