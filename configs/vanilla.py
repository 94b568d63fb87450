"""The course template: BCE (non-saturating G), Adam 2e-4, betas (0.9, 0.999), batch 64, 100 epochs.

python bin/train.py --variant=vanilla
"""

from jaxgan.config import base_config


def get_config():
    return base_config()
