"""MD-GAN (Eghbal-zadeh et al. 2019; `latent_priors.md` §4): D embeds a sample in R^d_e, and its
realness is the likelihood under a Gaussian mixture centred on the vertices of a regular simplex."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import scipy.linalg
import scipy.optimize
from jax.nn import logsumexp, sigmoid

from jaxgan.objectives.core import Objective, _positive, d_real_fake

EPS = 1e-8
BOUND = 2.5  # D's embedding is 5·sigmoid(a) − 2.5 ∈ (−2.5, 2.5)


def simplex_vertices(dim: int) -> np.ndarray:
    """The dim + 1 vertices of a regular simplex centred at 0, unit norm, float64 (dim + 1, dim).

    (The official code's vertices have norm 0.944 for dim 9, a quirk not reproduced.)
    """
    centred = np.eye(dim + 1) - 1.0 / (dim + 1)
    basis = scipy.linalg.helmert(dim + 1)  # (dim, dim + 1) orthonormal rows, orthogonal to 1
    v = centred @ basis.T
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def log_likelihood(e, means, sigma: float, xp=jnp):
    """log Σ_i (1/C) N(e; μ_i, σ² I) for e (..., d): the equal-weight simplex mixture."""
    d = means.shape[1]
    sq = ((e[..., None, :] - means) ** 2).sum(-1)
    log_norm = -0.5 * d * np.log(2 * np.pi * sigma**2) - np.log(len(means))
    if xp is np:
        return scipy.special.logsumexp(log_norm - sq / (2 * sigma**2), axis=-1)
    return logsumexp(log_norm - sq / (2 * sigma**2), axis=-1)


def max_likelihood(means: np.ndarray, sigma: float) -> float:
    """λ = max_e lk(e) over D's range, by L-BFGS-B from the centroid and every vertex (for d_e = 9
    and σ = 0.5 the mixture is unimodal and the maximum is at the centroid, not a vertex)."""

    def neg(e):
        sq = ((e - means) ** 2).sum(-1)
        w = np.exp(-(sq - sq.min()) / (2 * sigma**2))
        grad = ((w[:, None] * (e - means)).sum(0) / w.sum()) / sigma**2
        return -float(log_likelihood(e, means, sigma, np)), grad

    starts = [np.zeros(means.shape[1]), *means]
    best = min(
        scipy.optimize.minimize(neg, x0, jac=True, method="L-BFGS-B",
                                bounds=[(-BOUND, BOUND)] * means.shape[1]).fun
        for x0 in starts
    )
    return float(np.exp(-best))


def mdgan(prior, embedding_dim: int = 9, sigma: float = 0.5, saturating: bool = True) -> Objective:
    """D: −mean[log(ε + lk(D(x))) + log(ε + λ − lk(D(G(z))))]; G (`saturating`, the paper's
    minimax form): mean log(ε + λ − lk(D(G(z)))), else the non-saturating
    −mean log(ε + lk(D(G(z)))).

    lk is the simplex mixture of `embedding_dim` + 1 Gaussians of std `sigma`; D(x) = lk/λ, so the
    samplers' log-ratio is log lk − log(λ − lk).
    """
    if not isinstance(embedding_dim, int) or embedding_dim < 1:
        raise ValueError(f"objective.embedding_dim={embedding_dim!r}: must be an integer >= 1")
    _positive(sigma=sigma)
    if sigma == 0:
        raise ValueError("objective.sigma=0: must be > 0")
    means_np = simplex_vertices(embedding_dim)
    lam = max_likelihood(means_np, sigma)
    means = jnp.asarray(means_np, jnp.float32)

    def lk(out):
        e = 5.0 * sigmoid(out["logits"]) - BOUND
        return jnp.exp(log_likelihood(e, means, sigma))

    def realness(out):
        p = lk(out)
        return jnp.log(p + EPS) - jnp.log(jnp.maximum(lam - p, 0.0) + EPS)

    def d_loss(ctx):
        real_out, fake_out = d_real_fake(ctx)
        lk_r, lk_f = lk(real_out), lk(fake_out)
        loss = -jnp.mean(jnp.log(EPS + lk_r)) - jnp.mean(jnp.log(EPS + lam - lk_f))
        return loss, {"real_logit": jnp.mean(realness(real_out)),
                      "fake_logit": jnp.mean(realness(fake_out))}

    def g_loss(ctx):
        lk_f = lk(ctx.net("d", ctx.fake))
        if saturating:
            return jnp.mean(jnp.log(EPS + lam - lk_f)), {}
        return -jnp.mean(jnp.log(EPS + lk_f)), {}

    return Objective(d_loss, g_loss, d_outputs=embedding_dim, realness=realness, calibrated=True)
