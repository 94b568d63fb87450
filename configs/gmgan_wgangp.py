"""Static supervised GM-GAN with WGAN-GP losses, team 003's "Static GM GAN with WGAN-GP": its
best prior, K = 10 in d = 200 with σ = 1.0 (FID 110.47, `003_59f9b49c2b443763.txt`, "Changing
the values of sigma"), kept fixed, means μ ~ U(−3, 3) as `gmgan_supervised` (the report gives no
c for this model); a critic with K class logits beside its value (AC-GAN style: the report gives
only the WGAN-GP loss, see `jaxgan.objectives.gm_wgan_gp`); the WGAN-GP recipe's Adam (G 1e-3,
D 3e-4, betas (0.5, 0.9)) and the template's 100 epochs.

python bin/train.py --variant=gmgan_wgangp
"""

from jaxgan.config import adam
from jaxgan.variant_files import load_variant_config


def get_config():
    c = load_variant_config("gmgan_supervised")
    c.variant = "gmgan_wgangp"
    c.prior.dynamic = False
    c.prior.latent_dim, c.prior.sigma = 200, 1.0
    c.objective = {"name": "gm_wgan_gp", "num_classes": 10, "gp_weight": 10.0, "class_weight": 1.0}
    c.optim.g = adam(1e-3, 0.5, 0.9)
    c.optim.d = adam(3e-4, 0.5, 0.9)
    c.optim.prior = adam(1e-3, 0.5, 0.9)
    c.epochs = 100
    return c
