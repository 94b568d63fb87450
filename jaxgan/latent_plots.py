"""Plots of a run's latent space: t-SNE of latents and encoder codes coloured by the project's
classifier, interpolation grids, and the precision–recall points of a run under each sampler."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from sklearn.manifold import TSNE

from jaxgan import classifier, datasets, viz
from jaxgan.generate import encode, test_split
from jaxgan.pixels import digits
from jaxgan.run import Run


def _digits(images_u8: np.ndarray) -> np.ndarray:
    _, logits = classifier.classify(classifier.load_params(), images_u8)
    return np.argmax(logits, 1)


def _tsne(x: np.ndarray, seed: int) -> np.ndarray:
    return TSNE(n_components=2, init="pca", random_state=seed).fit_transform(x)


def tsne(workdir, out, num: int = 2000, seed: int = 0, data_dir: str | None = None,
         member: int | None = None, raw_g: bool = False) -> list[Path]:
    """t-SNE of `num` prior latents coloured by the classifier's digit for G(z) and, for a run
    with an encoder, of its codes [ẑ_n, ℓ] of MNIST test images coloured by the classifier's
    digit for the image. Returns the PNGs written (`<out>_latents.png`, `<out>_encoder.png`).
    G is the run's EMA where it keeps one, G itself with `raw_g`."""
    run = Run.open(workdir, member, raw_g)
    if not datasets.get(run.config.dataset).is_image:
        raise ValueError("t-SNE plots colour by the MNIST classifier: an MNIST run is needed")
    z, _ = run.sample_prior(jax.random.PRNGKey(seed), num)
    images = digits(jax.device_get(run.generate(z)))
    panels = [("latents", np.asarray(z), _digits(images),
               f"t-SNE of {num} prior latents z, coloured by the classifier's digit for G(z)")]
    if "enc" in run.model.nets:
        real, _ = test_split(run, data_dir)
        real = real[:num]
        codes = encode(run, real)
        x = np.concatenate([codes["noise"], jax.nn.softmax(codes["logits"])], 1)
        panels.append(("encoder", x, _digits(real), f"t-SNE of the encoder's codes of {num} "
                       "MNIST test images, coloured by the classifier's digit"))
    written = []
    for name, x, colours, title in panels:
        y = _tsne(x, seed)
        fig, ax = viz.subplots(figsize=(6.5, 6))
        sc = ax.scatter(y[:, 0], y[:, 1], c=colours, cmap="tab10", s=4, vmin=-0.5, vmax=9.5)
        fig.colorbar(sc, ax=ax, ticks=range(10), label="digit")
        ax.set(title=textwrap.fill(title, 60), xticks=[], yticks=[])
        ax.title.set_fontsize(9)
        written.append(viz.save_figure(fig, f"{out}_{name}.png"))
    return written


def interpolations(workdir, out, pairs: int = 8, steps: int = 10, seed: int = 0,
                   classes: tuple[int, int] | None = None, member: int | None = None,
                   raw_g: bool = False) -> Path:
    """A grid of G along straight lines in latent space, one pair per row: between two prior
    draws, or (`classes` = (a, b), labelled priors) between components a and b with the same noise
    (ClusterGAN: one one-hot label to the other). G as in `tsne`."""
    run = Run.open(workdir, member, raw_g)
    if not datasets.get(run.config.dataset).is_image:
        raise ValueError("interpolation grids show digits: an MNIST run is needed")
    prior, params = run.model.prior, run.state.params["prior"]
    k_a, k_b = jax.random.split(jax.random.PRNGKey(seed))
    if classes is None:
        z_a, z_b = prior.sample(params, k_a, pairs)[0], prior.sample(params, k_b, pairs)[0]
    else:
        if not prior.num_classes:
            raise ValueError("--classes needs a prior with labelled components")
        if not all(0 <= c < prior.num_classes for c in classes):
            raise ValueError(f"--classes={classes}: components are 0..{prior.num_classes - 1}")
        z_a = prior.sample(params, k_a, pairs, jnp.int32(classes[0]))[0]
        z_b = prior.sample(params, k_a, pairs, jnp.int32(classes[1]))[0]
    t = jnp.linspace(0.0, 1.0, steps)[None, :, None]
    z = ((1 - t) * z_a[:, None] + t * z_b[:, None]).reshape(pairs * steps, -1)
    x = jax.device_get(run.generate(z))
    path = Path(f"{out}.png")
    viz.save_grid(digits(x), path, nrow=steps)
    return path


def pr_points(evals: dict[str, str | Path], out, title: str = "") -> Path:
    """Precision against recall (classifier features) of one run's samples under each sampler,
    from `bin/evaluate.py --json` reports: `evals` maps a label to a report path."""
    fig, ax = viz.subplots(figsize=(5.5, 5))
    for label, path in evals.items():
        report = json.loads(Path(path).read_text())
        m = report.get("metrics", {}).get("classifier")
        if not m:
            raise ValueError(f"{path}: no classifier precision/recall in this report (a report "
                             "of `bin/evaluate.py --json` on MNIST samples is needed)")
        ax.scatter(m["recall"], m["precision"], s=30)
        ax.annotate(label, (m["recall"], m["precision"]), fontsize=8,
                    xytext=(4, 4), textcoords="offset points")
    ax.set(xlabel="recall (k = 3)", ylabel="precision (k = 3)", title=title or
           "precision and recall under each sampler")
    ax.grid(alpha=0.3)
    return viz.save_figure(fig, f"{out}.png")
