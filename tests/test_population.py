"""Populations (`--num_seeds`): N GANs in one vmapped step. Member i is the single run of seed
seed + i; a population resumes exactly, and is sampled and evaluated member by member."""

import json

import jax
import numpy as np
import pytest

from jaxgan import checkpoint, datasets, population
from jaxgan.mesh import make_mesh
from jaxgan.run import Run
from jaxgan.train import Trainer, train_and_evaluate
from jaxgan.variant_files import load_variant_config

N, B, STEPS = 256, 32, 2


def _config(num_seeds=3, **more):
    c = load_variant_config("vanilla")
    c.batch_size, c.prior.latent_dim, c.num_seeds = B, 4, num_seeds
    c.nets = {"g_hidden": (32, 32), "d_hidden": (32, 32), "g_out_scale": 1.0}
    c.update(more)
    return c


def _trained(config, steps=STEPS):
    x = np.random.default_rng(0).uniform(-1, 1, (N, 8)).astype(np.float32)
    trainer = Trainer(config, make_mesh(jax.devices()[:1]), N, data_dim=8)
    state = trainer.init_state()
    init = jax.device_get(state)  # the run donates `state`
    return init, trainer.run(state, trainer.put_data(x, np.zeros(N)), steps)


@pytest.mark.slow
def test_member_i_is_the_single_run_of_seed_i():
    """Initial states are equal bit for bit. After training, only the matmuls' rounding differs
    (vmap batches them): with Adam each weight moves at most ~lr per step, so a gradient whose sign
    rounding flips can differ by 2·lr per step, and every other weight agrees to float32 error."""
    pop = _config(num_seeds=2, seed=5)
    pop_init, (pop_state, pop_metrics) = _trained(pop)
    lr = pop.optim.g.lr
    for i in (1,):
        one_init, (one_state, one_metrics) = _trained(population.member_config(pop, i))
        assert population.member_config(pop, i).seed == 5 + i
        jax.tree.map(np.testing.assert_array_equal, population.select(pop_init, i), one_init)
        mine = population.select(pop_state, i)
        assert int(mine.step) == int(one_state.step) == STEPS
        for a, b in zip(jax.tree.leaves(mine.params), jax.tree.leaves(one_state.params),
                        strict=True):
            diff = np.abs(np.asarray(a) - np.asarray(b))
            assert diff.max() <= 2 * lr * STEPS + 1e-6
            assert np.mean(diff > 1e-5 * (1 + np.abs(b))) < 0.01
        for name, values in one_metrics.items():
            np.testing.assert_allclose(pop_metrics[name][i], values, rtol=1e-4, atol=1e-5)
    # and the members are different GANs, reading the data in different orders
    first = jax.tree.leaves(pop_state.params["g"])[0]
    assert not np.allclose(first[0], first[1])
    assert not np.array_equal(pop_state.perm[0], pop_state.perm[1])


def test_same_data_order_gives_every_member_member_0s_order():
    c = _config(seed=5, same_data_order=True)
    state = Trainer(c, make_mesh(jax.devices()[:1]), N, data_dim=8).init_state()
    single = Trainer(population.member_config(c, 0), make_mesh(jax.devices()[:1]), N,
                     data_dim=8).init_state()
    for key in state.data_key:
        np.testing.assert_array_equal(key, single.data_key)
    assert not np.array_equal(state.key[0], state.key[1])


@pytest.mark.slow
def test_a_population_resumes_exactly_and_is_sampled_and_evaluated_per_member(tmp_path,
                                                                             monkeypatch):
    """On the 2-D ring: train, resume, sample plainly and with DRS, score the modes."""
    from jaxgan.generate import generate_raw
    from jaxgan.report import run
    from jaxgan.samplers.refine import sample_with

    c = load_variant_config("vanilla")
    datasets.use(c, "ring8", explicit={"nets.g_hidden"})
    assert c.nets.g_out_scale == 3.0 and c.nets.d_hidden == (128, 128, 128)
    c.nets.g_hidden, c.nets.d_hidden, c.prior.latent_dim = (32,), (32,), 4
    c.num_seeds, c.batch_size, c.steps_per_call, c.checkpoint_every, c.log_every = 2, 64, 3, 3, 3
    c.num_steps = 6
    straight = train_and_evaluate(c, tmp_path / "straight", progress=False)
    c.num_steps = 3
    train_and_evaluate(c, tmp_path / "resumed", progress=False)
    c.num_steps = 6
    resumed = train_and_evaluate(c, tmp_path / "resumed", progress=False)
    jax.tree.map(np.testing.assert_array_equal, straight, resumed)

    log = (tmp_path / "resumed" / "metrics.jsonl").read_text()
    rows = [json.loads(r) for r in log.splitlines()]
    assert [(r["step"], r["member"]) for r in rows] == [(3, 0), (3, 1), (6, 0), (6, 1)]
    assert list((tmp_path / "resumed" / "grids" / "member_1").glob("*.png"))

    member = Run.open(tmp_path / "resumed", member=1)
    points, config = generate_raw(member, 100), member.config
    assert points.shape == (100, 2) and config.seed == 1 and config.num_seeds == 1
    x, info = sample_with(member, 300, "drs", {"burn_in": 500, "batch": 500})
    assert x.shape == (300, 2) and 0 < info["acceptance"] <= 1
    assert "BCE-trained" in info["critic"]
    with pytest.raises(population.MemberError, match="--member=0..1"):
        Run.open(tmp_path / "resumed")
    with pytest.raises(population.MemberError, match="members are 0..1"):
        Run.open(tmp_path / "resumed", member=2)
    out = tmp_path / "eval.json"
    restores = []
    restore = checkpoint.restore_latest
    monkeypatch.setattr(checkpoint, "restore_latest",
                        lambda *a, **k: restores.append(1) or restore(*a, **k))
    report = run(json_path=str(out), workdir=str(tmp_path / "resumed"), num_samples=200,
                 out=open(tmp_path / "stdout", "w"))
    assert len(restores) == 1  # the population's checkpoint, once for both members
    assert all(m["rows"][0]["value"][1] == 8 for m in report["members"])  # of the 8 modes
    # each member's report is the one its own Run gives
    for m in (0, 1):
        alone = run(workdir=str(tmp_path / "resumed"), num_samples=200, member=m,
                    out=open(tmp_path / "stdout", "w"))
        # compared as JSON, so that a NaN equals a NaN
        assert json.dumps(alone["metrics"]) == json.dumps(report["members"][m]["metrics"])
    covered = report["summary"]["modes"]["modes_covered"]
    assert len(covered["values"]) == 2 and covered["mean"] == np.mean(covered["values"])
    assert json.loads(out.read_text())["summary"]["modes"]["modes_covered"] == covered
