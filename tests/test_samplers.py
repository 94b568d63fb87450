"""The post-hoc samplers on 1-D and 2-D cases with known answers (G the identity, p_g = N(0, I))."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan.samplers import CalibrationError, Critic, Source, critic, ddls, dgflow, drs, mh, obrs


def _source(realness, dim=1, calibrated=True):
    """p_g = N(0, I) with G the identity, so the samplers' output is the latent itself."""
    return Source(
        latent=lambda key, n: jax.random.normal(key, (n, dim)),
        log_prior=lambda z: -0.5 * jnp.sum(z**2, -1),
        generate=lambda z: z,
        realness=realness,
        data_dim=dim,
        calibrated=calibrated,
        variant="test",
    )


def _exact(source):
    return Critic(source.realness, 1.0, 0.0, "exact")


# p_data = N(1, 1) against p_g = N(0, 1): log p_data/p_g = x − 1/2
SHIFTED = lambda x: x[:, 0] - 0.5


def test_drs_acceptance_is_a_rate_and_one_for_a_constant_d():
    src = _source(lambda x: jnp.zeros(x.shape[0]))
    _, info = drs.sample(src, _exact(src), jax.random.PRNGKey(0), 2000, batch=500, burn_in=500,
                         gamma=0.0)
    assert info["acceptance"] >= 0.999  # σ(−log(1 − e^{−ε})) = 1 − ε
    src = _source(SHIFTED)
    x, info = drs.sample(src, _exact(src), jax.random.PRNGKey(1), 2000, batch=500, burn_in=500)
    assert 0 < info["acceptance"] <= 1 and x.shape == (2000, 1)
    assert x.mean() > 0.3  # accepted samples lean toward p_data's mean 1


def test_drs_rule_is_the_ideal_ratio_without_shift():
    d = np.linspace(-5, -0.1, 11)
    p = 1 / (1 + np.exp(-drs.accept_logit(d, 0.0, 0.0, 0.0)))
    np.testing.assert_allclose(p, np.exp(d), rtol=1e-9)


def test_mh_with_the_exact_ratio_returns_the_target():
    src = _source(SHIFTED)
    real = np.random.default_rng(0).normal(1.0, 1.0, (1000, 1)).astype(np.float32)
    x, info = mh.sample(src, _exact(src), jax.random.PRNGKey(0), 2500, steps=100, batch=1000,
                        real_scores=SHIFTED(real))
    # 2,500 chains: mean 1 ± 3·(1/√2500) and variance 1 within sampling error
    assert x.shape == (2500, 1)
    assert abs(x.mean() - 1.0) < 0.06 and abs(x.var() - 1.0) < 0.1
    assert 0 < info["acceptance"] < 1
    assert 0 <= info["chains_never_moved"] <= 2500  # counts only the chains returned


def test_obrs_solves_its_budget_and_keeps_to_it():
    w = np.exp(-5 * np.random.default_rng(0).uniform(0, 1, 5000))  # mean ≈ 0.2: the classic rate
    w[0] = 1.0
    for rate in (0.3, 0.5, 0.9, 1.0):
        c = obrs.solve_c(w, rate)
        np.testing.assert_allclose(np.minimum(1, c * w).mean(), rate, rtol=1e-9)
    assert obrs.solve_c(w, 0.1) == 1.0  # below the classic rate, c stays at 1
    src = _source(SHIFTED)
    x, info = obrs.sample(src, _exact(src), jax.random.PRNGKey(0), 2000, budget=4.0, batch=500,
                          pilot=4000)
    assert x.shape == (2000, 1)
    np.testing.assert_allclose(info["pilot_acceptance"], 0.25, rtol=1e-6)
    assert abs(info["acceptance"] - 0.25) < 0.03  # 8,000 candidates: binomial error ≈ 0.005
    with pytest.raises(ValueError, match="obrs_budget"):
        obrs.sample(src, _exact(src), jax.random.PRNGKey(0), 10, budget=0.5)


def test_latent_samplers_with_zero_steps_are_the_identity():
    z = jax.random.normal(jax.random.PRNGKey(0), (50, 3))
    energy = lambda z: 0.5 * jnp.sum(z**2, -1) - z[:, 0]
    np.testing.assert_array_equal(ddls.langevin(energy, z, jax.random.PRNGKey(1), 0, 0.1, 1.0), z)
    np.testing.assert_array_equal(dgflow.flow(energy, z, jax.random.PRNGKey(1), 0, 0.1, 0.01), z)


def test_ddls_with_the_prior_energy_only_leaves_the_prior_invariant():
    src = _source(SHIFTED, dim=2)
    x, _ = ddls.sample(src, _exact(src), jax.random.PRNGKey(0), 4000, steps=200, eps=0.05,
                       batch=4000, use_d=False)
    # N(0, I) is invariant up to the step's bias (variance 1/(1 − ε/4) ≈ 1.013) and 4,000 samples
    np.testing.assert_allclose(x.mean(0), 0.0, atol=0.07)
    np.testing.assert_allclose(x.var(0), 1.0, atol=0.08)


def test_ddls_and_dgflow_move_toward_the_data():
    src = _source(SHIFTED)
    x, _ = ddls.sample(src, _exact(src), jax.random.PRNGKey(0), 2000, steps=300, eps=0.05,
                       batch=2000)
    # exact target of the energy ½z² − (z − ½): N(1, 1)
    assert abs(x.mean() - 1.0) < 0.1
    y, _ = dgflow.sample(src, _exact(src), jax.random.PRNGKey(0), 2000, steps=10, batch=2000)
    assert abs(y.mean() - 10 * 0.1) < 0.1  # KL flow: z + η·∇d per step, ∇d = 1


def test_bad_sampler_options_are_refused():
    src = _source(SHIFTED)
    with pytest.raises(ValueError, match="ddls_steps=-1"):
        ddls.sample(src, _exact(src), jax.random.PRNGKey(0), 10, steps=-1)
    with pytest.raises(ValueError, match="dgflow_div"):
        dgflow.sample(src, _exact(src), jax.random.PRNGKey(0), 10, divergence="TV")
    with pytest.raises(ValueError, match="mh_steps"):
        mh.sample(src, _exact(src), jax.random.PRNGKey(0), 10, steps=0, real_scores=[0.0])


def test_calibration_recovers_a_log_ratio_and_fails_on_a_reversed_d():
    real = np.random.default_rng(0).normal(1.0, 1.0, (4000, 1)).astype(np.float32)
    # a critic whose score is an affine map of the true log-ratio x − ½
    src = _source(lambda x: (x[:, 0] - 0.5 - 0.3) / 2.0, calibrated=False)
    c = critic(src, real, jax.random.PRNGKey(0), calibrate=True)
    assert abs(c.slope - 2.0) < 0.25 and abs(c.intercept - 0.3) < 0.15
    reversed_d = _source(lambda x: -x[:, 0], calibrated=False)
    with pytest.raises(CalibrationError, match="slope"):
        critic(reversed_d, real, jax.random.PRNGKey(0), calibrate=True)


def test_latent_samplers_keep_a_one_hot_code_and_move_the_noise():
    """ClusterGAN's z = [noise | one-hot]: G never saw a code that is not one-hot, so DDLS and
    DGflow move the noise coordinates only (`Source.movable`, from the prior's code_dims)."""
    from jaxgan.priors import one_hot_gaussian

    prior = one_hot_gaussian(latent_dim=6, num_classes=3)
    assert prior.code_dims == 3
    z, _ = prior.sample(prior.init(jax.random.PRNGKey(0)), jax.random.PRNGKey(1), 40)
    movable = jnp.arange(6) < 3
    energy = lambda z: 0.5 * jnp.sum(z**2, -1) - 3.0 * z[:, 4]  # pulls on a code coordinate too
    for moved in (ddls.langevin(energy, z, jax.random.PRNGKey(2), 5, 0.1, 1.0, movable),
                  dgflow.flow(energy, z, jax.random.PRNGKey(2), 5, 0.1, 0.01, movable)):
        np.testing.assert_array_equal(moved[:, 3:], z[:, 3:])
        assert np.all(np.abs(np.asarray(moved[:, :3] - z[:, :3])) > 0)


def test_guided_ascent_keeps_a_one_hot_code():
    from jaxgan.samplers import guide

    code = jnp.arange(12) < 9  # z = [9 noise | 3-d one-hot code]
    src = _source(lambda x: jnp.zeros(x.shape[0]), dim=784)._replace(
        latent=lambda key, n: jnp.concatenate(
            [jax.random.normal(key, (n, 9)), jax.nn.one_hot(jnp.arange(n) % 3, 3)], 1),
        generate=lambda z: jnp.tanh(jnp.pad(z, ((0, 0), (0, 784 - 12)))),  # x[:, :12] = tanh(z)
        movable=code)
    key = jax.random.PRNGKey(0)
    x, _ = guide.sample(src, _exact(src), key, 8, target=3, steps=3, batch=8)
    z0 = src.latent(jax.random.fold_in(key, 0), 8)
    np.testing.assert_array_equal(x[:, 9:12], np.tanh(np.asarray(z0[:, 9:])))
    assert np.all(np.abs(x[:, :9] - np.tanh(np.asarray(z0[:, :9]))) > 0)
