"""Draws images from an opened run (`jaxgan.run.Run`, for `bin/sample.py` and the evaluator),
and encodes real images with a run's encoder (ClusterGAN's clustering and GMM sampling)."""

from __future__ import annotations

from collections.abc import Callable

import jax
import numpy as np

from jaxgan import classifier, datasets, priors
from jaxgan.eval import clustering
from jaxgan.pixels import digits, to_unit
from jaxgan.run import Run

LATENTS = ("prior", "recall", "gmm")
# "Improving recall" (latent_priors.md §1.8): active one-hot entry ~ N(1.1, 0.15²), n/K per class
RECALL = {"active_mean": 1.1, "active_std": 0.15, "stratified": True}


def test_split(run: Run, data_dir: str | None = None):
    """(images, labels) of the test split of the run's dataset, from `data_dir`, else the run's
    own `data_dir`, else the default."""
    return datasets.get(run.config.dataset).load(data_dir or run.config.data_dir or None, "test")


def encode(run: Run, images_u8: np.ndarray, batch_size: int = 1000) -> dict:
    """The run's encoder on uint8 images: {"noise": (n, d_n), "logits": (n, K)} as numpy."""
    if "enc" not in run.model.nets:
        raise ValueError(f"variant {run.config.variant!r} has no encoder")
    apply = jax.jit(lambda p, x: run.model.nets["enc"].apply(p, to_unit(x)))
    flat = images_u8.reshape(len(images_u8), -1)
    parts = [jax.device_get(apply(run.state.params["enc"], flat[i : i + batch_size]))
             for i in range(0, len(flat), batch_size)]
    return {k: np.concatenate([p[k] for p in parts]) for k in ("noise", "logits")}


def encoder_clustering(run: Run, data_dir: str | None = None) -> dict | None:
    """Clustering quality of the run's encoder on the MNIST test set (purity, accuracy, NMI, ARI
    for argmax ℓ and K-Means on [ẑ_n, softmax ℓ]); None for a run without an encoder."""
    if "enc" not in run.model.nets:
        return None
    images, labels = test_split(run, data_dir)
    codes = encode(run, images)
    return clustering.encoder_clustering(codes["noise"], codes["logits"], labels)


def component_agreement(run: Run, per_component: int = 1000, seed: int = 0):
    """How the prior's labelled components map to the digits the project's classifier sees in
    G's samples: `{"digit_accuracy": P(classifier says k | component k), "matched_accuracy": the
    same after the best one-to-one map of components to digits}`; None for unlabelled priors.

    The first is the supervised GM-GANs' conditional accuracy; the second suits ClusterGAN and the
    unsupervised mixtures, whose component k need not be digit k.
    """
    k = run.model.prior.num_classes
    if not k:
        return None
    apply = jax.jit(run.model.nets["g"].apply)
    key = jax.random.PRNGKey(seed)
    images, components = [], []
    for c in range(k):
        z = _latent_sampler(run, "prior", c, None, seed)(jax.random.fold_in(key, c), per_component)
        images.append(digits(jax.device_get(apply(run.state.params["g"], z))))
        components.append(np.full(per_component, c))
    _, logits = classifier.classify(classifier.load_params(), np.concatenate(images))
    seen, components = np.argmax(logits, 1), np.concatenate(components)
    return {
        "digit_accuracy": float(np.mean(seen == components)),
        "matched_accuracy": clustering.hungarian_accuracy(components, seen),
    }


def _latent_sampler(run: Run, latents: str, class_label: int | None, data_dir: str | None,
                    seed: int) -> Callable:
    """`sample(key, n) -> z` for the chosen latents (see `generate_images`)."""
    config, prior = run.config, run.model.prior
    if latents not in LATENTS:
        raise ValueError(f"unknown latents {latents!r}; valid: {', '.join(LATENTS)}")
    if class_label is not None:
        if not prior.num_classes:
            raise ValueError(f"--class needs a prior with labelled components; this run's prior "
                             f"{config.prior.name!r} has none")
        if not 0 <= class_label < prior.num_classes:
            raise ValueError(f"--class={class_label}: the prior's components are "
                             f"0..{prior.num_classes - 1}")
    if latents != "prior":
        try:  # recall and gmm work on z = [noise | v·one-hot], the priors that take RECALL's v
            recall_prior = priors.build(config.prior.to_dict() | RECALL)
        except ValueError:
            raise ValueError(f"--{latents} needs ClusterGAN's one-hot prior, not "
                             f"{config.prior.name!r}") from None
    if latents == "recall":
        prior = recall_prior
    if latents == "gmm":
        images, _ = test_split(run, data_dir)
        codes = encode(run, images)
        gmm = clustering.fit_latent_gmm(codes["noise"], codes["logits"], prior.num_classes)
        rng = np.random.default_rng(seed)

        def from_gmm(key, n):
            del key
            if class_label is None:
                return clustering.sample_latent_gmm(gmm, n, prior.num_classes, rng)[0]
            # every class has one component: n of each, keep the class's
            z, labels = clustering.sample_latent_gmm(gmm, n * prior.num_classes,
                                                     prior.num_classes, rng)
            return z[labels == class_label][:n]

        return from_gmm
    sample = jax.jit(prior.sample, static_argnums=2)
    labels = None if class_label is None else np.int32(class_label)
    return lambda key, n: sample(run.state.params["prior"], key, n, labels)[0]


def generate_raw(
    run: Run,
    num_samples: int,
    seed: int = 0,
    batch_size: int = 1000,
    class_label: int | None = None,
    latents: str = "prior",
    data_dir: str | None = None,
) -> np.ndarray:
    """Samples float (n, D) in the networks' range; same run and seed, same samples. See
    `generate_images` for the options."""
    if latents == "gmm":
        batch_size = max(num_samples, 1)  # the GMM's draw is stratified over the whole set
    sample = _latent_sampler(run, latents, class_label, data_dir, seed)
    apply = jax.jit(run.model.nets["g"].apply)
    key = jax.random.PRNGKey(seed)
    out = []
    for i, start in enumerate(range(0, num_samples, batch_size)):
        z = sample(jax.random.fold_in(key, i), batch_size)
        out.append(np.asarray(jax.device_get(apply(run.state.params["g"], z)))
                   [: num_samples - start])
    dim = run.model.input_dims["d"] - run.model.objective.d_extra_inputs
    return np.concatenate(out) if out else np.zeros((0, dim), np.float32)


def generate_images(
    run: Run,
    num_samples: int,
    seed: int = 0,
    class_label: int | None = None,
    latents: str = "prior",
    data_dir: str | None = None,
) -> np.ndarray:
    """uint8 (num_samples, 28, 28) images; same run and seed, same images.

    `latents`: "prior" (the trained prior), "recall" (ClusterGAN's improving-recall labels:
    stratified classes, active entry ~ N(1.1, 0.15²)), "gmm" (z_n from a Gaussian mixture fitted
    on the encoder's codes of the MNIST test images). `class_label` keeps one component.
    """
    x = generate_raw(run, num_samples, seed, class_label=class_label, latents=latents,
                     data_dir=data_dir)
    return digits(x)
