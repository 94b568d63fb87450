"""Feature matching added to G's loss, as the teams did: BCE + mean_j(mean f_j(G(z)) − mean
f_j(x))² on the frozen MNIST classifier's features (`--config.objective.network=d`: D's last
hidden layer); the template's optimiser. Salimans et al.'s form, which replaces G's BCE:
`configs/feature_matching_salimans.py`.

python bin/train.py --variant=feature_matching
"""

from jaxgan.config import base_config


def get_config():
    c = base_config()
    c.variant = "feature_matching"
    c.objective = {"name": "feature_matching", "weight": 1.0, "network": "classifier"}
    return c
