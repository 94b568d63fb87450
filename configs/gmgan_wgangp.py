"""Static supervised GM-GAN with WGAN-GP losses: `gmgan_supervised`'s prior (K = 10, d = 100,
μ ~ U(−3, 3), std 1.4), kept fixed, and a critic with K class logits beside its value (AC-GAN
style: see `jaxgan.objectives.gm_wgan_gp`); the WGAN-GP recipe's Adam (G 1e-3, D 3e-4, betas
(0.5, 0.9)) and the template's 100 epochs.

python bin/train.py --variant=gmgan_wgangp
"""

from jaxgan.config import adam, load_variant_config


def get_config():
    c = load_variant_config("gmgan_supervised")
    c.variant = "gmgan_wgangp"
    c.prior.dynamic = False
    c.objective = {"name": "gm_wgan_gp", "num_classes": 10, "gp_weight": 10.0, "class_weight": 1.0}
    c.optim.g = adam(1e-3, 0.5, 0.9)
    c.optim.d = adam(3e-4, 0.5, 0.9)
    c.optim.prior = adam(1e-3, 0.5, 0.9)
    c.epochs = 100
    return c
