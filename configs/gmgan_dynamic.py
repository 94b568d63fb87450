"""Unsupervised GM-GAN, dynamic (`latent_priors.md` §2.1): the static prior's means and diagonal
softplus stds (K = 10, d = 100, μ ~ U[−0.1, 0.1], σ = 0.15 a variance) are learned with G's loss,
with their own Adam (G's settings); BCE losses, the template's Adam 2e-4.

python bin/train.py --variant=gmgan_dynamic
"""

from jaxgan.config import base_config


def get_config():
    c = base_config()
    c.variant = "gmgan_dynamic"
    c.prior = {
        "name": "gaussian_mixture",
        "latent_dim": 100,
        "num_components": 10,
        "mean_range": 0.1,
        "sigma": 0.15,
        "sigma_is_variance": True,
        "dynamic": True,
    }
    c.objective = {"name": "bce"}
    return c
