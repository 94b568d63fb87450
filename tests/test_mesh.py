"""The members × data mesh: its shape from the config, and (on four fake CPU devices, in a
subprocess: tests/mesh_check.py) the layout, the numbers and checkpoints across meshes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from jaxgan import mesh
from jaxgan.variant_files import load_variant_config

ROOT = Path(__file__).resolve().parents[1]


def _config(num_seeds=1, members=0, data=0, batch_size=64):
    c = load_variant_config("vanilla")
    c.num_seeds, c.batch_size = num_seeds, batch_size
    c.mesh.members, c.mesh.data = members, data
    return c


@pytest.mark.parametrize("seeds,devices,expected", [
    (1, 4, (1, 4)),  # a single run: every device on data
    (8, 4, (4, 1)),  # a population: as many on members as divide it
    (6, 4, (2, 2)),
    (3, 4, (1, 4)),
    (5, 1, (1, 1)),
])
def test_the_default_shape(seeds, devices, expected):
    assert mesh.shape(_config(seeds), devices) == expected


def test_a_shape_asked_for():
    assert mesh.shape(_config(4, members=2), 4) == (2, 2)
    assert mesh.shape(_config(4, data=4), 4) == (1, 4)
    assert mesh.shape(_config(4, members=1, data=1), 4) == (1, 1)  # both set: fewer devices


@pytest.mark.parametrize("config,message", [
    (_config(4, members=3), "mesh.members=3 x mesh.data=chosen does not fit 4 device(s) and a "
                            "population of 4: members must divide num_seeds, and members x data "
                            "use every device (or fewer, with both set); fits here: 1x4, 2x2, 4x1"),
    (_config(3, members=2, data=2), "members must divide num_seeds"),
    (_config(4, members=4, data=2), "fits here: 1x4, 2x2, 4x1"),
    (_config(1, members=0, data=3), "mesh.members=chosen x mesh.data=3 does not fit 4 device(s)"),
    (_config(4, data=4, batch_size=50), "--batch_size=50 must be a multiple of the 4 devices on "
                                        "the mesh's data axis"),
    (_config(4, members=-1), "mesh.members=-1, mesh.data=0: must be >= 0 (0: chosen)"),
])
def test_a_mesh_that_does_not_fit_is_one_line(config, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        mesh.shape(config, 4)


@pytest.mark.slow
def test_a_sharded_population_on_four_devices(tmp_path, small_mnist):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "mesh_check.py"), f"--data_dir={small_mnist}",
         f"--workdir={tmp_path}"], capture_output=True, text=True, env=env, timeout=600,
        cwd=ROOT / "tests")
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["layout"], "a device holds other than one member of each leaf"
    for name in ("4x1_then_2x2", "2x2_then_1"):
        worst, fraction, ints_equal = result[name]
        assert ints_equal and fraction <= 1e-2 and worst <= result["bound"], (name, proc.stderr)
    assert proc.returncode == 0, proc.stderr[-2000:]
