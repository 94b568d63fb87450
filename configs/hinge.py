"""Hinge loss (D: relu(1 − d(x)) + relu(1 + d(G(z))); G: −d(G(z))) with the template's optimiser.

python bin/train.py --variant=hinge
"""

from jaxgan.config import base_config


def get_config():
    c = base_config()
    c.variant = "hinge"
    c.objective = {"name": "hinge"}
    return c
