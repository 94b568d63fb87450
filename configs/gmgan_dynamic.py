"""Unsupervised GM-GAN, dynamic (`latent_priors.md` §2.1): `gmgan_static`'s prior (K = 10, d = 100,
μ ~ U[−0.1, 0.1], σ = 0.15 a variance) with its means and diagonal softplus stds learned with G's
loss, with their own Adam (G's settings); BCE losses, the template's Adam 2e-4.

python bin/train.py --variant=gmgan_dynamic
"""

from jaxgan.variant_files import load_variant_config


def get_config():
    c = load_variant_config("gmgan_static")
    c.variant = "gmgan_dynamic"
    c.prior.dynamic = True
    return c
