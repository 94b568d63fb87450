"""Unsupervised GM-GAN, static (`latent_priors.md` §2): z ~ (1/K) Σ N(μ_k, σI), K = 10 in d = 100,
μ_k ~ U[−0.1, 0.1] drawn once, σ = 0.15 a variance (the paper's values as quoted by a student
report, unverified); BCE losses and the template's Adam 2e-4.

python bin/train.py --variant=gmgan_static
"""

from jaxgan.config import base_config


def get_config():
    c = base_config()
    c.variant = "gmgan_static"
    c.prior = {
        "name": "gaussian_mixture",
        "latent_dim": 100,
        "num_components": 10,
        "mean_range": 0.1,
        "sigma": 0.15,
        "sigma_is_variance": True,
        "dynamic": False,
    }
    c.objective = {"name": "bce"}
    return c
