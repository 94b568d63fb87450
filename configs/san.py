"""SAN (hinge): D lr 1e-4, G lr 7e-4, betas (0.5, 0.999), batch 64, 150 epochs: the recipe the
project's baseline notes give for SAN (credited there to team 001, whose report
`001_c71f12813d1af0e3.txt` states only the batch of 64 and its FID of 19.04, §3.4 Fig. 9).
`--config.objective.loss=bce` gives SAN-BCE.

python bin/train.py --variant=san --latent_dim=100
"""

from jaxgan.config import adam, base_config


def get_config():
    c = base_config()
    c.variant = "san"
    c.objective = {"name": "san", "loss": "hinge"}
    c.optim.d = adam(1e-4, 0.5, 0.999)
    c.optim.g = adam(7e-4, 0.5, 0.999)
    c.optim.prior = adam(7e-4, 0.5, 0.999)
    c.epochs = 150
    return c
