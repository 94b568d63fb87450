"""Feature matching as Salimans et al. (2016, §3.1) define it: G minimises
‖mean f(G(z)) − mean f(x)‖² on D's last hidden layer instead of an adversarial loss; D keeps the
template's BCE. The template's networks and Adam 2e-4 (the paper's MNIST code used Adam 3e-4,
β1 0.5, with another D). `configs/feature_matching.py` is the teams' additive form.

python bin/train.py --variant=feature_matching_salimans
"""

from jaxgan.config import base_config


def get_config():
    c = base_config()
    c.variant = "feature_matching_salimans"
    c.objective = {"name": "feature_matching", "weight": 1.0, "network": "d",
                   "adversarial": False}
    return c
