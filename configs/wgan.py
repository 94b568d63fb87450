"""WGAN with weight clipping (Arjovsky et al.): the Wasserstein pair, every critic weight and bias
clipped to ±0.01 after each critic update, RMSprop 5e-5 for both networks, 5 critic steps per G
step, batch 64. The original's 100 critic steps for the first 25 and every 500th G step are not
reproduced (as in igul222's MNIST script).

python bin/train.py --variant=wgan
"""

from jaxgan.config import base_config, rmsprop


def get_config():
    c = base_config()
    c.variant = "wgan"
    c.objective = {"name": "wgan"}
    c.optim.g = rmsprop(5e-5)
    c.optim.d = rmsprop(5e-5, clip=0.01)
    c.optim.prior = rmsprop(5e-5)
    c.n_critic = 5
    return c
