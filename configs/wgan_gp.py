"""WGAN-GP with the course teams' recipe: G lr 1e-3, D lr 3e-4, betas (0.5, 0.9), λ = 10,
one critic step per G step, batch 64, 150 epochs, then 25 more at half the learning rates.

python bin/train.py --variant=wgan_gp
"""

from jaxgan.config import adam, base_config


def get_config():
    c = base_config()
    c.variant = "wgan_gp"
    c.objective = {"name": "wgan_gp", "gp_weight": 10.0}
    c.optim.g = adam(1e-3, 0.5, 0.9)
    c.optim.d = adam(3e-4, 0.5, 0.9)
    c.optim.prior = adam(1e-3, 0.5, 0.9)
    c.n_critic = 1
    c.epochs = 175
    c.optim.lr_halve_epoch = 150
    return c
