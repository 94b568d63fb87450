"""Classifier-guided latent ascent (the teams' exploration; `latent_priors.md` §6.2): Adam on z to
minimise −log p_clf(k | G(z)) + λ₁·mean|z| + BCE(D(G(z)), 1), G, D and the classifier frozen."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxgan import frozen


def sample(source, critic, key, n, target=0, steps=100, lr=0.1, l1=0.1, batch=1000):
    """`n` samples pushed toward digit `target`; info has the classifier's mean confidence in
    `target` before and after."""
    if source.data_dim != frozen.FROZEN["classifier"].data_dim:
        raise ValueError("--guide_class needs an MNIST run (the classifier reads 28×28 digits)")
    if not 0 <= target <= 9:
        raise ValueError(f"--guide_class={target}: must be a digit 0..9")
    if steps < 0:
        raise ValueError(f"--guide_steps={steps}: must be >= 0")
    clf_params = frozen.FROZEN["classifier"].load()

    def log_p(x):
        return jax.nn.log_softmax(frozen.classifier_outputs(clf_params, x)[0])[:, target]

    def loss(z):
        x = source.generate(z)
        per = -log_p(x) + l1 * jnp.mean(jnp.abs(z), -1) + jax.nn.softplus(-critic.log_ratio(x))
        return jnp.sum(per)

    opt = optax.adam(lr)

    @jax.jit
    def run(key):
        z = source.latent(key, batch)

        def body(_, carry):
            z, s = carry
            g = jax.grad(loss)(z)
            if source.movable is not None:  # a one-hot code stays where the prior put it
                g = jnp.where(source.movable, g, 0.0)
            u, s = opt.update(g, s, z)
            return optax.apply_updates(z, u), s

        before = jnp.mean(jnp.exp(log_p(source.generate(z))))
        z, _ = jax.lax.fori_loop(0, steps, body, (z, opt.init(z)))
        x = source.generate(z)
        return x, before, jnp.mean(jnp.exp(log_p(x)))

    out, before, after = [], [], []
    for i in range(-(-n // batch)):
        x, b, a = run(jax.random.fold_in(key, i))
        out.append(np.asarray(x))
        before.append(float(b))
        after.append(float(a))
    return np.concatenate(out)[:n], {"attempts": n, "acceptance": 1.0,
                                     "confidence_before": float(np.mean(before)),
                                     "confidence_after": float(np.mean(after))}
