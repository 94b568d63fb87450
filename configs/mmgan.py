"""MMGAN as team 003 prints it (`003_59f9b49c2b443763.txt`, "Algorithm 1 MMGAN";
`latent_priors.md` §3.0): z = [z_n ~ N(0, I) of dim 90 | label of K = 10] (the report's K for MNIST;
90 + 10 fills the fixed G's 100 inputs); the critic scores an image alone and compares each real x_r
with G([z_n | p_E(x_r)]) (relativistic standard loss); G and the clustering net E (an MLP mirroring
D) also minimise α·CE(E(G([z_n | y^p])), y^p), y^p uniform one-hot. The report gives neither α nor
the optimiser: α = 1 and Adam 2e-4, betas (0.5, 0.999) for every network are jaxgan's choices.

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
