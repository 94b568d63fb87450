"""The import rules of the README's "Architecture": `eval/` is a leaf on arrays, training reads
nothing of it, and only optional dependencies are imported inside a function."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "jaxgan"
TRAINING = ("jaxgan.step", "jaxgan.train", "jaxgan.objectives", "jaxgan.state", "jaxgan.optim",
            "jaxgan.losses", "jaxgan.priors", "jaxgan.population", "jaxgan.checkpoint")
# what eval/ may read: itself, the MNIST classifier, the data loaders and the file helpers
EVAL_READS = ("jaxgan.eval", "jaxgan.classifier", "jaxgan.data", "jaxgan.files", "jaxgan.pixels")
ROOT = PACKAGE.parent
# what may be imported inside a function: the optional dependencies (extras), and what needs them
OPTIONAL = ("tensorflow_datasets", "torch", "benchmarks.torch_reference")


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(imported module, at the top level?) of one file; `TYPE_CHECKING` blocks ignored."""
    tree = ast.parse(path.read_text())
    found = []

    def visit(node, top):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.ImportFrom):
                found.extend((f"{child.module}.{a.name}" if child.module == "jaxgan"
                              else child.module or "", top) for a in child.names)
            elif isinstance(child, ast.Import):
                found.extend((a.name, top) for a in child.names)
            inner = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            visit(child, top and not inner)

    visit(tree, True)
    return found


FILES = sorted(PACKAGE.rglob("*.py"))


def _is(module: str, prefixes) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


@pytest.mark.parametrize("path", [f for f in FILES if _module(f).startswith("jaxgan.eval")],
                         ids=_module)
def test_eval_imports_nothing_of_training_runs_or_reports(path):
    outside = [m for m, _ in _imports(path) if _is(m, ("jaxgan",)) and not _is(m, EVAL_READS)]
    assert not outside, f"{_module(path)} imports {outside}"


@pytest.mark.parametrize("path", [f for f in FILES if _is(_module(f), TRAINING)], ids=_module)
def test_training_imports_nothing_of_eval(path):
    assert not [m for m, _ in _imports(path) if _is(m, ("jaxgan.eval",))]


def test_only_optional_dependencies_are_imported_inside_functions():
    scripts = [*FILES, *sorted(ROOT.glob("bin/*.py")), *sorted(ROOT.glob("benchmarks/*.py"))]
    late = [(str(f.relative_to(ROOT)), m) for f in scripts for m, top in _imports(f) if not top]
    assert [x for x in late if not _is(x[1], OPTIONAL)] == []


def test_the_rules_see_top_level_and_late_imports():
    assert ("jaxgan.run", True) in _imports(PACKAGE / "report.py")
    assert ("tensorflow_datasets", False) in _imports(PACKAGE / "data" / "tfds.py")


def test_training_does_not_load_torch():
    """tensorboardX imports torch whenever it is installed (1.4 s and ~180 MB for every training
    process); jaxgan/tensorboard.py keeps it out, and torch stays importable afterwards."""
    code = ("import importlib.util, sys\nimport jaxgan.train\n"
            "assert 'torch' not in sys.modules, 'torch was loaded'\n"
            "if importlib.util.find_spec('torch'):\n    import torch\n    torch.zeros(1)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr[-2000:]
