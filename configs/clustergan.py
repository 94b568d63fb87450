"""ClusterGAN (`latent_priors.md` §1) with the course team's recipe: z = [z_n | one-hot z_c],
z_n ~ 0.75·N(0, I) of dim 20, K = 10 (G's input 30); an encoder E mirroring D, trained with G on
βn·mean((z_n − ẑ_n)²) + βc·CE(ℓ, k), βn = βc = 10; G and E Adam 1e-3, D 3e-4, betas (0.5, 0.9).

D is the official WGAN-GP critic with 5 critic steps per G step; the team trained plain BCE with
one D step: `--config.objective.adversarial=bce --config.n_critic=1`. The official z_n scale is
0.1 (`--config.prior.noise_std=0.1`). Sampling options: `bin/sample.py --recall_labels` (active
entry ~ N(1.1, 0.15), stratified classes), `--gmm` (z_n from a GMM fitted on E(test images)),
`--class=k`.

python bin/train.py --variant=clustergan
"""

from jaxgan.config import adam, base_config


def get_config():
    c = base_config()
    c.variant = "clustergan"
    c.prior = {"name": "one_hot_gaussian", "latent_dim": 30, "num_classes": 10, "noise_std": 0.75}
    c.objective = {
        "name": "clustergan",
        "adversarial": "wgan_gp",
        "gp_weight": 10.0,
        "beta_n": 10.0,
        "beta_c": 10.0,
    }
    c.nets.enc_hidden = (1024, 512, 256)
    c.n_critic = 5
    c.optim.g = adam(1e-3, 0.5, 0.9)
    c.optim.enc = adam(1e-3, 0.5, 0.9)
    c.optim.d = adam(3e-4, 0.5, 0.9)
    c.optim.prior = adam(1e-3, 0.5, 0.9)
    return c
