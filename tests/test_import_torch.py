"""`bin/import_torch.py`: the course template's G.pth / D.pth become a jaxgan workdir whose G and D
compute what the PyTorch nets compute."""

import json

import numpy as np
import pytest
from test_weights import write_zip

from jaxgan.import_torch import TemplateError, import_template
from jaxgan.run import Run


def _linears(widths, rng, prefix=""):
    out = {}
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        bound = 1 / np.sqrt(a)
        out[f"{prefix}fc{i + 1}.weight"] = rng.uniform(-bound, bound, (b, a)).astype(np.float32)
        out[f"{prefix}fc{i + 1}.bias"] = rng.uniform(-bound, bound, (b,)).astype(np.float32)
    return out


def _mlp(state, x, prefix=""):
    """The template's forward in float64: LeakyReLU(0.2) between Linears."""
    n = len(state) // 2
    for i in range(1, n + 1):
        x = x @ state[f"{prefix}fc{i}.weight"].T.astype(np.float64) + state[f"{prefix}fc{i}.bias"]
        if i < n:
            x = np.where(x > 0, x, 0.2 * x)
    return x


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    rng = np.random.default_rng(0)
    folder = tmp_path_factory.mktemp("template")
    g = _linears((100, 256, 512, 1024, 784), rng)
    d = _linears((784, 1024, 512, 256, 1), rng, prefix="module.")  # saved from DataParallel
    return g, d, write_zip(folder / "G.pth", g, ()), write_zip(folder / "D.pth", d, ())


def test_the_imported_nets_compute_the_templates(template, tmp_path):
    g, d, g_path, d_path = template
    workdir = import_template(g_path, d_path, tmp_path / "run")
    assert json.loads((workdir / "imported_from.json").read_text())["G"] == str(g_path.resolve())
    z = np.random.default_rng(1).standard_normal((16, 100)).astype(np.float32)
    opened = Run.open(workdir)
    x = np.asarray(opened.generate(z))
    # float32 matmuls of length <= 1024 against a float64 forward; tanh's slope <= 1
    np.testing.assert_allclose(x, np.tanh(_mlp(g, z)), atol=1e-5)
    logit = opened.model.apply["d"](opened.state.params["d"], x)["logit"]
    np.testing.assert_allclose(np.asarray(logit).ravel(), _mlp(d, x, "module.").ravel(),
                               atol=1e-5, rtol=1e-5)
    with pytest.raises(TemplateError, match="already holds a checkpoint"):
        import_template(g_path, d_path, workdir)


def test_a_state_dict_of_other_nets_is_refused(template, tmp_path):
    g, _, g_path, _ = template
    wrong = write_zip(tmp_path / "D.pth", _linears((784, 512, 1), np.random.default_rng(2)), ())
    with pytest.raises(TemplateError, match="the template's are"):
        import_template(g_path, wrong, tmp_path / "run")
    assert not (tmp_path / "run").exists()
