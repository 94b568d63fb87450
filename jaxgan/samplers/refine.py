"""A trained run's samples refined by one sampler: load the run, read D's score as a density ratio
(calibrating it when D was not trained with BCE), sample, and say what it cost."""

from __future__ import annotations

import time

import jax
import numpy as np

from jaxgan import datasets
from jaxgan.generate import test_split
from jaxgan.pixels import digits, to_inputs
from jaxgan.run import Run
from jaxgan.samplers import SAMPLERS, critic, source

CALIBRATE = ("auto", "always", "never")


def sample_with(
    run: Run,
    num_samples: int,
    sampler: str,
    options: dict | None = None,
    seed: int = 0,
    calibrate: str = "auto",
    calibration_samples: int = 5000,
    data_dir: str | None = None,
) -> tuple[np.ndarray, dict]:
    """`num_samples` samples (float (n, D), the networks' range) of an opened run refined by one of
    `SAMPLERS`, and what it did (`critic`: how D's score became a log-ratio,
    `attempts`, `acceptance`, `seconds`, ...).

    `calibrate`: "auto" fits a logistic calibration on `calibration_samples` held-out real samples
    (the test split) when D was not trained with BCE (every sampler reads D as a log-ratio or a
    probability), and always for MH; "always" / "never" force it. The run's sampling G is
    refined: its EMA where it keeps one, unless it was opened with `raw_g`.
    """
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r}; valid: {', '.join(SAMPLERS)}")
    if calibrate not in CALIBRATE:
        raise ValueError(f"--calibrate={calibrate!r}: valid: {', '.join(CALIBRATE)}")
    if calibration_samples < 10:
        raise ValueError(f"--calibration_samples={calibration_samples}: must be >= 10")
    start = time.perf_counter()
    src = source(run, run.state)
    key = jax.random.PRNGKey(seed)
    method = SAMPLERS[sampler]
    from_real = getattr(method, "STARTS_FROM_REAL", False)
    fit = calibrate == "always" or (calibrate == "auto" and (not src.calibrated or from_real))
    options = dict(options or {})
    real = None
    if fit or from_real:
        real_raw, _ = test_split(run, data_dir)
        real_raw = real_raw[:calibration_samples].reshape(min(len(real_raw),
                                                              calibration_samples), -1)
        real = np.asarray(to_inputs(real_raw))
    reader = critic(src, real, jax.random.fold_in(key, 1), fit)
    if from_real:
        options["real_scores"] = np.asarray(jax.jit(reader.log_ratio)(real))
    x, info = method.sample(src, reader, jax.random.fold_in(key, 2), num_samples, **options)
    info = {"sampler": sampler, "critic": reader.how, **info,
            "seconds": time.perf_counter() - start}
    return x, info


def to_outputs(config, x: np.ndarray, pixel_map: str = "half") -> np.ndarray:
    """Samples in the networks' range as the dataset stores them: uint8 (n, 28, 28) digits, or
    the toys' float (n, 2) points."""
    if datasets.get(config.dataset).is_image:
        return digits(x, pixel_map)
    return np.asarray(x, np.float32)
