"""Optimiser nodes: every field of every registered optimiser can be set on every variant's
trained networks, a field the chosen optimiser ignores is refused, and the choice is what trains."""

from __future__ import annotations

import inspect
import itertools
import json
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from absl import flags
from ml_collections import config_flags

from jaxgan import optim, variants
from jaxgan.config import (
    adam,
    load_variant_config,
    mismatches,
    resolve_saved,
    rmsprop,
    variant_names,
)

ROOT = Path(__file__).resolve().parents[1]
# a valid value other than every variant's for each field
OTHER = {"lr": 0.125, "b1": 0.25, "b2": 0.5, "weight_decay": 0.0625, "eps_root": 1e-3,
         "decay": 0.75, "clip": 0.03125}


def _kinds(opt_state) -> set[str]:
    """The names of the optax states in one network's optimiser state."""
    leaves = jax.tree.leaves(opt_state, is_leaf=lambda s: hasattr(s, "_fields"))
    return {type(s).__name__ for s in leaves}


def _parse(config, argv: list[str]):
    """`config` after `--config.<field>=value` flags, parsed as bin/train.py parses them (on flags
    of their own, not the global ones)."""
    fv = flags.FlagValues()
    holder = config_flags.DEFINE_config_dict("config", config, flag_values=fv, sys_argv=argv)
    fv(argv)
    return holder.value


def test_no_two_optimisers_disagree_on_a_shared_fields_default():
    params = {name: inspect.signature(b).parameters for name, b in optim.OPTIMIZERS.items()}
    for a, b in itertools.combinations(params, 2):
        for field in set(params[a]) & set(params[b]):
            assert params[a][field].default == params[b][field].default, (a, b, field)
    assert set(optim.defaults()) == {"name", *OTHER} - {"lr"}


def test_the_config_helpers_build_the_nodes_they_always_did():
    assert adam(1e-3, 0.5, 0.9) == {**optim.defaults(), "lr": 1e-3, "b1": 0.5, "b2": 0.9}
    assert rmsprop(5e-5, 0.9, 0.01) == {**optim.defaults(), "name": "rmsprop", "lr": 5e-5,
                                        "decay": 0.9, "clip": 0.01}
    with pytest.raises(TypeError):
        adam(1e-3, decay=0.9)  # not Adam's: set it on the node, with name=rmsprop


@pytest.mark.parametrize("variant", variant_names())
def test_every_optimiser_field_is_settable_on_every_variant(variant):
    """Every trained network's node holds every field; the command line sets each one; with each
    registered optimiser chosen by name alone, every network's optimiser builds."""
    config = load_variant_config(variant)
    nets = variants.build(config).trained
    for net in nets:
        assert set(config.optim[net]) == {"lr", *optim.defaults()}, net
    argv = ["train.py"]
    for net, (field, value) in itertools.product(nets, OTHER.items()):
        argv.append(f"--config.optim.{net}.{field}={value}")
    argv += [f"--config.optim.{net}.name=rmsprop" for net in nets]
    parsed = _parse(load_variant_config(variant), argv)
    for net in nets:
        assert parsed.optim[net].to_dict() == {"name": "rmsprop", **OTHER}, net
    for name in optim.OPTIMIZERS:
        for net in nets:
            config.optim[net].name = name
        assert set(optim.optimizers(config, 2000, nets)) == set(nets)


def test_a_field_the_chosen_optimiser_ignores_is_refused():
    config = load_variant_config("vanilla")
    config.optim.g.decay = 0.9
    with pytest.raises(ValueError, match=r"^optim.g.decay=0.9: read by rmsprop only, but "
                                         r"optim.g.name is 'adam'$"):
        optim.optimizers(config, 2000)
    config = load_variant_config("wgan_gp")  # Adam with b1 0.5: RMSprop ignores the variant's b1
    config.optim.d.name = "rmsprop"
    optim.optimizers(config, 2000)
    config.optim.d.b1 = 0.7  # but not one set away from it
    with pytest.raises(ValueError, match="optim.d.b1=0.7: read by adam only"):
        optim.optimizers(config, 2000)
    config.optim.d = rmsprop(1e-4)  # a whole node: the other fields at their defaults
    optim.optimizers(config, 2000)


def test_rmsprop_by_name_on_an_adam_variant_is_rmsprop():
    """One update from fresh state: PyTorch's RMSprop, lr g / (sqrt((1 − decay) g²) + eps)."""
    config = load_variant_config("vanilla")
    config.optim.g.name = "rmsprop"
    tx = optim.optimizers(config, 2000)["g"]
    grads = jnp.array([0.5, -2.0, 1e-3])
    updates, state = tx.update(grads, tx.init(jnp.zeros(3)), jnp.zeros(3))
    lr, g = 2e-4, np.asarray(grads, np.float64)
    np.testing.assert_allclose(updates, -lr * g / (np.sqrt(0.01 * g**2) + 1e-8), rtol=1e-5)
    assert "ScaleByRmsState" in _kinds(state)


@pytest.mark.parametrize("variant", ["vanilla", "wgan_gp"])
def test_a_saved_node_of_another_optimiser_resolves_to_what_the_command_line_gives(variant):
    """A config.json of a run trained with name=rmsprop on an Adam variant, saved before nodes
    held every field, resumes with `--config.optim.g.name=rmsprop`: nothing differs."""
    current = load_variant_config(variant)
    current.optim.g.name = "rmsprop"
    saved = load_variant_config(variant).to_dict()
    saved["optim"]["g"] = {"name": "rmsprop", "lr": current.optim.g.lr, "decay": 0.99,
                           "weight_decay": 0.0, "clip": 0.0}
    assert resolve_saved(saved).optim.g.to_dict() == current.optim.g.to_dict()
    assert mismatches(saved, current.to_dict()) == []
    current.optim.g.decay = 0.9
    assert mismatches(saved, current.to_dict()) == ["optim.g.decay"]


@pytest.mark.slow
def test_rmsprop_and_clipping_by_flags_on_vanilla(small_mnist, tmp_path):
    """bin/train.py with `--config.optim.g.name=rmsprop --config.optim.d.clip=0.01`: the run's
    G trains with RMSprop, D with Adam, and every D weight ends within [−0.01, 0.01]."""
    from jaxgan.generate import load_run

    workdir = tmp_path / "run"
    r = subprocess.run(
        [sys.executable, str(ROOT / "bin" / "train.py"), "--variant=vanilla",
         "--config.optim.g.name=rmsprop", "--config.optim.d.clip=0.01", f"--workdir={workdir}",
         f"--data_dir={small_mnist}", "--num_steps=2", "--config.steps_per_call=2",
         "--config.nets.g_hidden=(8,)", "--config.nets.d_hidden=(8,)", "--latent_dim=4",
         "--config.grid_samples=4"],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    saved = json.loads((workdir / "config.json").read_text())["optim"]
    assert (saved["g"]["name"], saved["d"]["name"], saved["d"]["clip"]) == ("rmsprop", "adam", 0.01)
    _, state = load_run(workdir)
    assert "ScaleByRmsState" in _kinds(state.opt_state["g"])
    assert "ScaleByAdamState" in _kinds(state.opt_state["d"])
    assert max(float(jnp.max(jnp.abs(w))) for w in jax.tree.leaves(state.params["d"])) <= 0.01
