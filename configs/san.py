"""SAN (hinge) with the course team's recipe: D lr 1e-4, G lr 7e-4, betas (0.5, 0.999), batch 64,
150 epochs. `--config.san_loss=bce` gives SAN-BCE.

python bin/train.py --variant=san --latent_dim=100
"""

from jaxgan.config import base_config


def get_config():
    c = base_config()
    c.variant = "san"
    c.san_loss = "hinge"
    c.lr_d, c.lr_g = 1e-4, 7e-4
    c.b1, c.b2 = 0.5, 0.999
    c.epochs = 150
    return c
