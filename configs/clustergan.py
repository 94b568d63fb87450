"""ClusterGAN (`latent_priors.md` §1) as team 000 trained it: z = [z_n | one-hot z_c], z_n of dim 20
(`000_a1a368a36c8362ab.txt` Tables 1–2: d = 20 was its best), K = 10 (G's input 30); an encoder E
mirroring D, trained with G on βn·mean((z_n − ẑ_n)²) + βc·CE(ℓ, k); D on the log loss of the
report's Eq. (1) (`adversarial: bce`), one D step per G step. The report names but does not give
the optimiser, βn, βc or the scale of z_n: z_n ~ 0.75·N(0, I), βn = βc = 10, Adam 1e-3 for G and E
(coupled L2 2.5e-5), 3e-4 for D, betas (0.5, 0.9) are team 000's code as `latent_priors.md` §1.4 and
§1.8 summarise it.

The paper's critic (WGAN-GP, weight 10, 5 critic steps per G step, §1.3–1.4) is
`--config.objective.adversarial=wgan_gp --config.n_critic=5` (two fields: the loss and the critic
steps go together). The paper's z_n scale is 0.1 (`--config.prior.noise_std=0.1`). Sampling options:
`bin/sample.py --latents=recall` (active entry ~ N(1.1, 0.15²), the report's "Improving Recall";
stratified classes), `--latents=gmm` (z_n from a GMM fitted on E(test images)), `--class=k`.

python bin/train.py --variant=clustergan
"""

from jaxgan.config import adam, base_config


def get_config():
    c = base_config()
    c.variant = "clustergan"
    c.prior = {"name": "one_hot_gaussian", "latent_dim": 30, "num_classes": 10, "noise_std": 0.75}
    c.objective = {
        "name": "clustergan",
        "adversarial": "bce",
        "gp_weight": 10.0,
        "beta_n": 10.0,
        "beta_c": 10.0,
    }
    c.nets.enc_hidden = (1024, 512, 256)
    c.n_critic = 1
    c.optim.g = adam(1e-3, 0.5, 0.9, 2.5e-5)
    c.optim.enc = adam(1e-3, 0.5, 0.9, 2.5e-5)
    c.optim.d = adam(3e-4, 0.5, 0.9)
    c.optim.prior = adam(1e-3, 0.5, 0.9)
    return c
