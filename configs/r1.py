"""BCE with the R1 penalty (γ/2)·E‖∇_x d(x)‖² on real data, γ = 10 (Mescheder et al. 2018), with the
template's optimiser. `--config.objective.gamma=20` is GAN_stability's `reg_param: 10`.

python bin/train.py --variant=r1
"""

from jaxgan.config import base_config


def get_config():
    c = base_config()
    c.variant = "r1"
    c.objective = {"name": "r1", "gamma": 10.0}
    return c
