"""Precision–recall divergence training (Vérine et al. 2023): a χ² f-GAN critic and G maximising
the PR estimates at slope λ = 1 (`--config.objective.lam`: larger for precision, smaller for
recall); Adam 2e-4, betas (0.0, 0.999) and 4 critic steps, as the official README commands.

python bin/train.py --variant=prgan --config.objective.lam=0.1
"""

from jaxgan.config import adam, base_config


def get_config():
    c = base_config()
    c.variant = "prgan"
    c.objective = {"name": "prgan", "lam": 1.0}
    c.optim.d = adam(2e-4, 0.0, 0.999)
    c.optim.g = adam(2e-4, 0.0, 0.999)
    c.optim.prior = adam(2e-4, 0.0, 0.999)
    c.n_critic = 4
    return c
