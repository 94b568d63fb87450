"""The README's `--config.<field>=value` examples work as written on the variant they name
(vanilla when they name none), and its refusal example is refused."""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

import pytest
from test_optim import _parse

from jaxgan import optim, variants

README = Path(__file__).resolve().parents[1] / "README.md"


def _examples() -> list[str]:
    """Every backticked span of the README that sets config fields to values (not the
    `--config.<field>=value` of the prose)."""
    spans = re.findall(r"`([^`\n]*--config\.[^`\n]*)`", README.read_text())
    return sorted({s for s in spans if re.search(r"--config\.[\w.]+=[^<*\s]", s)})


def _build(example: str):
    """The config `example`'s flags give, checked by the code that builds from it."""
    args = shlex.split(example)  # as a shell passes them
    config = _parse(["train.py", *args])
    model = variants.build(config)
    optim.optimizers(config, 60000, model.trained)
    return config


def test_the_readme_has_config_examples():
    assert len([e for e in _examples() if "lsgan" not in e]) >= 6


@pytest.mark.parametrize("example", [e for e in _examples() if "lsgan" not in e])
def test_a_readme_config_example_works_as_written(example):
    config = _build(example)
    for flag in shlex.split(example):
        if flag.startswith("--config."):
            field, value = flag[len("--config."):].split("=", 1)
            node = config
            for part in field.split("."):
                node = node[part]
            try:
                expected = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                expected = value
            assert node == expected, flag


def test_the_readme_refusal_example_is_refused():
    [example] = [e for e in _examples() if "lsgan" in e]
    with pytest.raises(ValueError, match="lsgan"):
        _build(example)
