"""MD-GAN (Eghbal-zadeh et al. 2019): D embeds samples in R^9, realness is the likelihood under 10
Gaussians (std 0.5) on a regular simplex, λ = its numerical maximum; minimax G loss. Adam 1e-3,
betas (0.5, 0.999) for both (the official toy demo's; `latent_priors.md` §4, decision 13).

python bin/train.py --variant=mdgan
"""

from jaxgan.config import adam, base_config


def get_config():
    c = base_config()
    c.variant = "mdgan"
    c.objective = {"name": "mdgan", "embedding_dim": 9, "sigma": 0.5, "saturating": True}
    c.optim.d = adam(1e-3, 0.5, 0.999)
    c.optim.g = adam(1e-3, 0.5, 0.999)
    c.optim.prior = adam(1e-3, 0.5, 0.999)
    return c
