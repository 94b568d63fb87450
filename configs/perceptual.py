"""The teams' perceptual loss: BCE + 0.01·mean((φ(G(z_i)) − φ(x_i))²) over random real/fake pairs,
φ the frozen MNIST classifier's 128-d features (the teams used VGG16 slices, which cannot be
shipped); the template's optimiser.

python bin/train.py --variant=perceptual
"""

from jaxgan.config import base_config


def get_config():
    c = base_config()
    c.variant = "perceptual"
    c.objective = {"name": "perceptual", "weight": 0.01, "network": "classifier"}
    return c
