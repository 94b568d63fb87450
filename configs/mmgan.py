"""MMGAN, EXPERIMENTAL: reconstructed from the paper's abstract (`latent_priors.md` §3.1; no code
or paper body was available, so every choice here is jaxgan's). z = [z_n ~ N(0, I) of dim 90 |
one-hot y^p of 10]; a clustering net E(x) (an MLP mirroring D) gives class logits; the critic sees
[x | y] pairs (real: one-hot of E(x), straight-through; fake: y^p); relativistic losses, and
α·CE(E(G(z, y^p)), y^p) for G and E, α = 1. Adam 2e-4, betas (0.5, 0.999).

python bin/train.py --variant=mmgan
"""

from jaxgan.config import adam, base_config


def get_config():
    c = base_config()
    c.variant = "mmgan"
    c.prior = {"name": "one_hot_gaussian", "latent_dim": 100, "num_classes": 10, "noise_std": 1.0}
    c.objective = {"name": "mmgan", "alpha": 1.0}
    c.nets.enc_hidden = (1024, 512, 256)
    c.optim.g = adam(2e-4, 0.5, 0.999)
    c.optim.d = adam(2e-4, 0.5, 0.999)
    c.optim.prior = adam(2e-4, 0.5, 0.999)
    c.optim.enc = adam(2e-4, 0.5, 0.999)
    return c
