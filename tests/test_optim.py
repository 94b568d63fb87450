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

from jaxgan import cli, optim, variants
from jaxgan.config import adam, mismatches, resolve_saved, rmsprop
from jaxgan.variant_files import load_variant_config, variant_names

ROOT = Path(__file__).resolve().parents[1]
# a valid value other than every variant's for each field
OTHER = {"lr": 0.125, "b1": 0.25, "b2": 0.5, "weight_decay": 0.0625, "eps_root": 1e-3,
         "decay": 0.75, "clip": 0.03125}


def _kinds(opt_state) -> set[str]:
    """The names of the optax states in one network's optimiser state."""
    leaves = jax.tree.leaves(opt_state, is_leaf=lambda s: hasattr(s, "_fields"))
    return {type(s).__name__ for s in leaves}


def _parse(argv: list[str]):
    """The config of a `bin/train.py` command line, parsed as that script parses it (on flags of
    their own, not the global ones)."""
    argv = cli.config_argv(argv)
    fv = flags.FlagValues()
    holder = cli.define_config(argv, fv)
    cli.parse_flags(argv, fv)
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
    argv = ["train.py", f"--variant={variant}"]
    for net, (field, value) in itertools.product(nets, OTHER.items()):
        argv.append(f"--config.optim.{net}.{field}={value}")
    argv += [f"--config.optim.{net}.name=rmsprop" for net in nets]
    parsed = _parse(argv)
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
    from jaxgan.run import Run

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
    state = Run.open(workdir).state
    assert "ScaleByRmsState" in _kinds(state.opt_state["g"])
    assert "ScaleByAdamState" in _kinds(state.opt_state["d"])
    assert max(float(jnp.max(jnp.abs(w))) for w in jax.tree.leaves(state.params["d"])) <= 0.01


# --- learning-rate decay ------------------------------------------------------------------------


def _step_sizes(tx, n: int) -> list[float]:
    """|update| of each of Adam's first `n` steps on a constant gradient: its learning rate."""
    params, update = jnp.zeros(1), jax.jit(tx.update)
    state, sizes = tx.init(params), []
    for _ in range(n):
        step, state = update(jnp.ones(1), state, params)
        sizes.append(float(jnp.abs(step[0])))
    return sizes


@pytest.mark.parametrize("n_critic,g_boundaries", [(1, [10, 30]), (3, [4, 10]), (5, [2, 6])])
def test_every_rate_drops_by_the_factor_after_each_decay_epoch(n_critic, g_boundaries):
    """640 images in batches of 64: 10 D updates an epoch. After epochs 1 and 3 D's rate drops at
    its updates 10 and 30; G's, the prior's and the encoder's at the first G step past them."""
    config = load_variant_config("clustergan")
    config.n_critic = n_critic
    config.optim.lr_decay_epochs = (1, 3)
    config.optim.lr_decay_factor = 0.1
    opt = optim.optimizers(config, 640, ("d", "g", "prior", "enc"))
    for name, tx in opt.items():
        boundaries = [10, 30] if name == "d" else g_boundaries
        lr = config.optim[name].lr
        want = [lr * 0.1 ** sum(c >= b for b in boundaries) for c in range(boundaries[-1] + 2)]
        np.testing.assert_allclose(_step_sizes(tx, len(want)), want, rtol=1e-4, err_msg=name)


def test_two_decay_epochs_within_one_g_step_compound():
    config = load_variant_config("vanilla")
    config.n_critic, config.optim.lr_decay_epochs = 5, (1, 2)  # 2 D updates an epoch
    assert optim.decay_scales(config, 128) == {"d": {2: 0.5, 4: 0.5}, "g": {1: 0.25}}


@pytest.mark.parametrize("n_critic", [1, 5])
def test_lr_halve_epoch_is_the_schedule_it_always_was(n_critic):
    """E > 0 halves every rate once after E epochs, D's after E·937 updates, G's after
    ⌈E·937 / n_critic⌉, as before the decay schedule; the optimiser states have one layout."""
    alias, schedule = load_variant_config("vanilla"), load_variant_config("vanilla")
    alias.n_critic = schedule.n_critic = n_critic
    alias.optim.lr_halve_epoch = 150
    schedule.optim.lr_decay_epochs = (150,)
    g = -(-150 * 937 // n_critic)
    assert optim.decay_scales(alias, 60000) == {"d": {140550: 0.5}, "g": {g: 0.5}}
    assert optim.decay_scales(schedule, 60000) == optim.decay_scales(alias, 60000)
    a, s = optim.optimizers(alias, 60000), optim.optimizers(schedule, 60000)
    for name in a:
        init = jnp.zeros(3)
        assert jax.tree.structure(a[name].init(init)) == jax.tree.structure(s[name].init(init))
    assert mismatches(alias.to_dict(), schedule.to_dict()) == []


def _old_layout(config, halve: int) -> dict:
    """`config` as a config.json saved before `lr_decay_epochs` existed."""
    saved = json.loads(json.dumps(config.to_dict()))
    for field in ("lr_decay_epochs", "lr_decay_factor"):
        del saved["optim"][field]
    saved["optim"]["lr_halve_epoch"] = halve
    return saved


def test_an_old_saved_config_with_lr_halve_epoch_resolves_without_a_mismatch():
    wgan_gp = load_variant_config("wgan_gp")
    saved = _old_layout(wgan_gp, 150)
    saved["epochs"] = 175  # the old recipe's length; a run field
    assert mismatches(saved, wgan_gp.to_dict()) == []
    resolved = resolve_saved(saved)
    assert (resolved.optim.lr_decay_epochs, resolved.optim.lr_decay_factor) == ((150,), 0.5)
    assert optim.decay_scales(resolved, 60000) == optim.decay_scales(wgan_gp, 60000)
    # an old run at a constant rate stays one, whatever the variant's default is today
    assert mismatches(_old_layout(wgan_gp, 0), wgan_gp.to_dict()) == ["optim.lr_decay_epochs"]
    vanilla = load_variant_config("vanilla")
    assert mismatches(_old_layout(vanilla, 0), vanilla.to_dict()) == []
    vanilla.optim.lr_halve_epoch = 50  # the old command line resumes the old run
    assert mismatches(_old_layout(vanilla, 50), vanilla.to_dict()) == []


@pytest.mark.parametrize("field,value,message", [
    ("lr_decay_epochs", (-1,), r"lr_decay_epochs=\(-1,\): must be a tuple of increasing epochs"),
    ("lr_decay_epochs", (0,), r"lr_decay_epochs=\(0,\): must be"),
    ("lr_decay_epochs", (150, 100), r"lr_decay_epochs=\(150, 100\): must be"),
    ("lr_decay_epochs", (100, 100), r"lr_decay_epochs=\(100, 100\): must be"),
    ("lr_decay_epochs", (1.5,), r"lr_decay_epochs=\(1.5,\): must be"),
    ("lr_decay_factor", 0.0, r"lr_decay_factor=0.0: must be > 0$"),
    ("lr_decay_factor", -0.5, r"lr_decay_factor=-0.5: must be > 0$"),
    ("lr_halve_epoch", -1, r"lr_halve_epoch=-1: must be an integer >= 0"),
    ("lr_halve_epoch", 100, r"lr_halve_epoch=100: an alias of optim.lr_decay_epochs=\(100,\) at "
                            r"factor 0.5, but optim.lr_decay_epochs=\(150,\)"),
])
def test_a_bad_decay_is_refused_in_one_line_naming_the_field(field, value, message):
    config = load_variant_config("wgan_gp")
    config.optim[field] = value
    with pytest.raises(ValueError, match=rf"^optim.{message}") as e:
        optim.optimizers(config, 60000)
    assert "\n" not in str(e.value)


def test_wgan_gp_trains_150_epochs_then_30_at_half_the_rates():
    from jaxgan.train import total_steps

    config = load_variant_config("wgan_gp")
    assert (config.epochs, config.n_critic) == (180, 1)
    assert total_steps(config, 60000) == 180 * 937
    assert optim.decay_scales(config, 60000) == {"d": {150 * 937: 0.5}, "g": {150 * 937: 0.5}}


@pytest.mark.slow
def test_a_decayed_run_is_the_constant_run_up_to_its_boundary_and_resumes_an_old_workdir(
    small_mnist, tmp_path
):
    """2,000 images: 31 batches an epoch. A wgan_gp run decayed after epoch 1 equals the
    constant-rate run bit for bit at step 30; its workdir, its config.json rewritten as saved
    before `lr_decay_epochs` existed (`lr_halve_epoch=1`), resumes past the boundary."""
    from jaxgan.train import train_and_evaluate

    def config(epochs, steps):
        c = load_variant_config("wgan_gp")
        c.update(num_steps=steps, steps_per_call=10, checkpoint_every=10, grid_samples=4,
                 data_dir=str(small_mnist))
        c.nets.update(g_hidden=(8,), d_hidden=(8,))
        c.prior.latent_dim = 4
        c.optim.lr_decay_epochs = epochs
        return c

    constant = train_and_evaluate(config((), 30), tmp_path / "constant", False)
    decayed = train_and_evaluate(config((1,), 30), tmp_path / "decayed", False)
    jax.tree.map(np.testing.assert_array_equal, constant.params, decayed.params)
    path = tmp_path / "decayed" / "config.json"
    path.write_text(json.dumps(_old_layout(config((1,), 30), 1)))
    resumed = train_and_evaluate(config((1,), 40), tmp_path / "decayed", False)
    assert int(resumed.step) == 40
