"""Post-hoc samplers that use D (and the project's classifier) to improve a trained G's samples.

Each module holds one: `drs` (rejection with D's ratio), `mh` (independence Metropolis–Hastings),
`obrs` (budgeted rejection), `ddls` (Langevin in latent space), `dgflow` (gradient flow in latent
space), `guide` (classifier-guided ascent on z). Each module's
`sample(source, critic, key, n, **options) -> (samples (n, D) float32 numpy, info dict)` draws;
`STARTS_FROM_REAL = True` in a module means it also takes `real_scores` (held-out real samples'
log-ratios) and always reads a calibrated D. `jaxgan.samplers.source` builds what they read.
"""

from __future__ import annotations

from jaxgan.samplers import ddls, dgflow, drs, guide, mh, obrs
from jaxgan.samplers.source import CalibrationError, Critic, NoCritic, Source, critic, source

SAMPLERS = {"drs": drs, "mh": mh, "obrs": obrs, "ddls": ddls, "dgflow": dgflow, "guide": guide}

__all__ = ["SAMPLERS", "CalibrationError", "Critic", "NoCritic", "Source",
           "critic", "source"]
