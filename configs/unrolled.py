"""Unrolled GAN (Metz et al. 2017): G's loss is read through 5 differentiable Adam updates of D on
the same batch (D's Adam has eps_root 1e-8 so that the second-order gradient stays finite);
D itself takes one update per step. Saturating G loss as the official code
(`--config.objective.saturating=False` for the non-saturating one); D lr 1e-4, G lr 1e-3,
betas (0.5, 0.999) as the official toy notebook.

python bin/train.py --variant=unrolled
"""

from jaxgan.config import adam, base_config


def get_config():
    c = base_config()
    c.variant = "unrolled"
    c.objective = {"name": "unrolled", "steps": 5, "saturating": True, "first_order": False}
    c.optim.d = adam(1e-4, 0.5, 0.999, eps_root=1e-8)
    c.optim.g = adam(1e-3, 0.5, 0.999)
    c.optim.prior = adam(1e-3, 0.5, 0.999)
    return c
