"""What the samplers read from a trained run: its prior, G, D's realness score, and a critic that
turns that score into an estimate of log p_data/p_g (by a logistic calibration when D was not
trained with BCE: WGAN, hinge and SAN scores are not log-ratios)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from sklearn.linear_model import LogisticRegression

from jaxgan.state import for_sampling


class NoCritic(ValueError):
    pass


class CalibrationError(ValueError):
    pass


class Source(NamedTuple):
    latent: Callable  # (key, n) -> z (n, latent_dim), from the trained prior
    log_prior: Callable  # z -> (n,), log p_0(z) (differentiable)
    generate: Callable  # z -> x (n, D) in the networks' range
    realness: Callable  # x -> (n,), D's score (higher = more real)
    data_dim: int
    calibrated: bool  # realness already estimates log p_data/p_g
    variant: str
    movable: Any = None  # (latent_dim,): 1 where latent samplers move z, 0 on a one-hot code


def source(trainer, state) -> Source:
    """The `Source` of a state of `trainer`'s model (a `jaxgan.run.Run` or a Trainer: what has
    `model` and `config`); NoCritic when its D has no per-sample score. Its G is the one
    `for_sampling` picks (a `Run`'s state has already picked it)."""
    model = trainer.model
    realness = model.objective.realness
    if realness is None or model.objective.d_extra_inputs:
        raise NoCritic(
            f"variant {trainer.config.variant!r} has no usable D output for sampling (its D "
            "judges (sample, label) pairs, not samples)"
        )
    p = for_sampling(state).params
    prior = model.prior
    movable = None
    if prior.code_dims:  # G never saw a code that is not one-hot: keep it where the prior put it
        movable = jnp.arange(prior.latent_dim) < prior.latent_dim - prior.code_dims
    return Source(
        latent=lambda key, n: model.prior.sample(p["prior"], key, n)[0],
        log_prior=lambda z: model.prior.log_prob(p["prior"], z),
        generate=lambda z: model.nets["g"].apply(p["g"], z),
        realness=lambda x: realness(model.nets["d"].apply(p["d"], x)),
        data_dim=model.input_dims["d"],
        calibrated=model.objective.calibrated,
        variant=trainer.config.variant,
        movable=movable,
    )


class Critic(NamedTuple):
    log_ratio: Callable  # x -> (n,): a·realness(x) + b
    slope: float
    intercept: float
    how: str  # one line for the output

    def on_latent(self, source: Source) -> Callable:
        """z -> (n,): the log-ratio at G(z)."""
        return lambda z: self.log_ratio(source.generate(z))


def _scores(source: Source, x: np.ndarray, batch: int = 1000) -> np.ndarray:
    f = jax.jit(source.realness)
    return np.concatenate([np.asarray(f(jnp.asarray(x[i:i + batch])))
                           for i in range(0, len(x), batch)])


def candidates(source: Source, score: Callable, batch: int) -> Callable:
    """A jitted `key -> (x (batch, D), score(x) (batch,))` of fresh fakes, as numpy."""
    f = jax.jit(lambda k: (lambda x: (x, score(x)))(source.generate(source.latent(k, batch))))
    return lambda key: tuple(np.asarray(a) for a in f(key))


def pilot_scores(draw: Callable, key, n: int, batch: int) -> np.ndarray:
    """The scores of `n` fakes from `draw` (see `candidates`), float64."""
    parts = [draw(jax.random.fold_in(key, i))[1] for i in range(-(-n // batch))]
    return np.concatenate(parts)[:n].astype(np.float64)


def fake_scores(source: Source, key, n: int, batch: int = 1000) -> np.ndarray:
    return pilot_scores(candidates(source, source.realness, batch), key, n, batch)


def reject(draw: Callable, accept: Callable, key, n: int, batch: int, max_attempts: int,
           what: str) -> tuple[np.ndarray, int, int]:
    """Rejection with fixed-size batches: draws `(x, d)` from `draw` and keeps each candidate
    with probability `accept(d)` until `n` are kept: `(kept[:n], kept count, candidates drawn)`.
    Stops with one line after `max_attempts` candidates."""
    k_run, k_u = jax.random.split(key)
    rng = np.random.default_rng(np.asarray(jax.random.key_data(k_u)).ravel())
    kept, count, attempts = [], 0, 0
    while count < n:
        if attempts >= max_attempts:
            raise ValueError(f"{what} kept {count} of {n} samples in {attempts} candidates; "
                             "its acceptance is too low for this run")
        x, d = draw(jax.random.fold_in(k_run, attempts // batch))
        attempts += batch
        kept.append(x[rng.random(len(x)) < accept(d.astype(np.float64))])
        count += len(kept[-1])
    return np.concatenate(kept)[:n], count, attempts


def critic(source: Source, real: np.ndarray, key, calibrate: bool) -> Critic:
    """D's score as a log-ratio: as it is, or (`calibrate`) a·score + b with (a, b) the logistic
    regression of held-out real (`real`, float (n, D)) against as many fresh fakes.

    Raises CalibrationError when the fit does not rank real above fake (a ≤ 0) or is not finite.
    """
    if not calibrate:
        why = "a BCE-trained D" if source.calibrated else "not calibrated, as asked"
        return Critic(source.realness, 1.0, 0.0, f"D's score read as log p_data/p_g ({why})")
    s_real = _scores(source, real)
    s_fake = fake_scores(source, key, len(real))
    scores = np.concatenate([s_real, s_fake]).astype(np.float64)
    labels = np.concatenate([np.ones(len(s_real)), np.zeros(len(s_fake))])
    if not np.all(np.isfinite(scores)):
        raise CalibrationError("calibration failed: D's score is not finite on some samples")
    fit = LogisticRegression(C=1e6, max_iter=1000).fit(scores[:, None], labels)
    a, b = float(fit.coef_[0, 0]), float(fit.intercept_[0])
    if not (np.isfinite(a) and np.isfinite(b)) or a <= 0:
        raise CalibrationError(
            f"calibration failed: the logistic fit of D's score on {len(real)} held-out real vs "
            f"{len(real)} fake samples has slope {a:.3g} (must be > 0): D does not rank real "
            "above fake, so it gives no density ratio"
        )
    how = (f"log p_data/p_g = {a:.4g}·d + {b:.4g}: logistic calibration of D's score on "
           f"{len(real)} held-out real vs {len(real)} fake samples")
    return Critic(lambda x: a * source.realness(x) + b, a, b, how)
