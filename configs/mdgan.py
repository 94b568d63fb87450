"""MD-GAN (Eghbal-zadeh et al. 2019): D embeds samples in R^9, realness is the likelihood under 10
Gaussians (std 0.5) on a regular simplex, λ = its numerical maximum; minimax G loss
(`latent_priors.md` §4, decision 13). Adam 2e-4, betas (0.5, 0.999) for both networks: the
official toy demo's 1e-3 saturates D's sigmoid embedding on MNIST within ~1,000 steps, after which
every gradient is 0 (BENCHMARKS.md, issue 8); at 2e-4 it trains.

python bin/train.py --variant=mdgan
"""

from jaxgan.config import adam, base_config


def get_config():
    c = base_config()
    c.variant = "mdgan"
    c.objective = {"name": "mdgan", "embedding_dim": 9, "sigma": 0.5, "saturating": True}
    c.optim.d = adam(2e-4, 0.5, 0.999)
    c.optim.g = adam(2e-4, 0.5, 0.999)
    c.optim.prior = adam(2e-4, 0.5, 0.999)
    return c
