"""Team 000's perceptual loss (`000_a1a368a36c8362ab.txt`, "Perceptual loss": weight 0.01):
BCE + 0.01·mean((φ(G(z_i)) − φ(x_i))²) over random real/fake pairs (the pairing is the team's code,
`latent_priors.md` §7.1), φ the frozen MNIST classifier's 128-d features (the team used VGG16
slices, which cannot be shipped); the template's optimiser.

python bin/train.py --variant=perceptual
"""

from jaxgan.config import base_config


def get_config():
    c = base_config()
    c.variant = "perceptual"
    c.objective = {"name": "perceptual", "weight": 0.01, "network": "classifier"}
    return c
