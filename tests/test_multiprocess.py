"""Two processes of bin/train.py on localhost (two CPU devices each, gloo between them) against one
process on four: the same run, checkpoints that resume across process counts, and a killed
process that ends the other within a bounded time."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tree_compare import compare, restored

from jaxgan.variant_files import load_variant_config

ROOT = Path(__file__).resolve().parents[1]
# a population of 4 on narrow networks; the default mesh puts the members on the 4 global devices
RUN = ["--num_seeds=4", "--config.steps_per_call=2", "--config.checkpoint_every=2",
       "--config.nets.g_hidden=(32,64)", "--config.nets.d_hidden=(64,32)", "--config.eval_every=0",
       "--config.log_every=1"]
LR, BOUND_STEPS = 2e-4, 8


def _port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _launch(workdir, data_dir, steps: int, processes: int, extra=()) -> list[subprocess.Popen]:
    env = dict(os.environ, JAX_PLATFORMS="cpu",
               XLA_FLAGS=f"--xla_force_host_platform_device_count={4 // processes}")
    args = [sys.executable, str(ROOT / "bin" / "train.py"), f"--workdir={workdir}",
            f"--data_dir={data_dir}", f"--num_steps={steps}", *RUN, *extra]
    if processes == 1:
        return [subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)]
    port = _port()
    return [subprocess.Popen([*args, f"--coordinator_address=localhost:{port}",
                              f"--num_processes={processes}", f"--process_id={i}"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for i in range(processes)]


def _finish(procs, timeout=300) -> None:
    for p in procs:
        _, err = p.communicate(timeout=timeout)
        assert p.returncode == 0, err[-3000:]


def _state(workdir: Path):
    config = load_variant_config("vanilla")
    config.num_seeds, config.batch_size = 4, 64
    config.nets.g_hidden, config.nets.d_hidden = (32, 64), (64, 32)
    state = restored(workdir, config)
    return state, int(state.step)


def _close(a, b) -> None:
    """Equal integer leaves, the parameters within Adam's bound, at most 1% of the floats off by
    more than float32 rounding (tests/multidevice_check.py says why)."""
    worst, fraction, ints_equal, where = compare(a, b, 1e-5)
    assert ints_equal and fraction <= 1e-2 and worst <= 6.4 * LR * BOUND_STEPS, (worst, where)


@pytest.mark.slow
def test_two_processes_train_as_one_and_resume_across_counts(tmp_path, small_mnist):
    two, one = tmp_path / "two", tmp_path / "one"
    _finish(_launch(two, small_mnist, 4, 2) + _launch(one, small_mnist, 4, 1))
    (a, step_a), (b, step_b) = _state(two), _state(one)
    assert step_a == step_b == 4
    _close(a, b)
    rows = [json.loads(line) for line in (two / "metrics.jsonl").read_text().splitlines()]
    assert sorted((r["step"], r["member"]) for r in rows) == [
        (s, m) for s in range(1, 5) for m in range(4)]  # written once, by process 0
    assert sorted(p.name for p in (two / "checkpoints" / "4").iterdir()) == sorted(
        p.name for p in (one / "checkpoints" / "4").iterdir())
    # each checkpoint goes on in the other process count
    _finish(_launch(two, small_mnist, 8, 1) + _launch(one, small_mnist, 8, 2))
    (a, step_a), (b, step_b) = _state(two), _state(one)
    assert step_a == step_b == 8
    _close(a, b)


@pytest.mark.slow
def test_a_killed_process_ends_the_other(tmp_path, small_mnist):
    procs = _launch(tmp_path, small_mnist, 100000, 2, ["--heartbeat_seconds=5"])
    try:
        deadline = time.monotonic() + 240
        while not list((tmp_path / "checkpoints").glob("*/checksums.json")):
            assert time.monotonic() < deadline and procs[0].poll() is None, "no checkpoint"
            time.sleep(0.5)
        procs[1].send_signal(signal.SIGKILL)
        start = time.monotonic()
        procs[0].wait(timeout=90)
        assert procs[0].returncode != 0
        assert time.monotonic() - start < 90
    finally:
        for p in procs:
            p.kill()
            p.communicate()


@pytest.mark.slow
def test_a_flag_given_to_one_process_only_is_refused(tmp_path, small_mnist):
    """Process 1 alone is given --seed=1: both refuse in one line before training."""
    port, env = _port(), dict(os.environ, JAX_PLATFORMS="cpu",
                               XLA_FLAGS="--xla_force_host_platform_device_count=2")
    procs = [subprocess.Popen(
        [sys.executable, str(ROOT / "bin" / "train.py"), f"--workdir={tmp_path / 'w'}",
         f"--data_dir={small_mnist}", "--num_steps=4", *RUN, f"--seed={i}",
         f"--coordinator_address=localhost:{port}", "--num_processes=2", f"--process_id={i}"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        lines = [line for line in err.splitlines() if line.startswith("error: ")]
        assert p.returncode == 1 and lines == [
            "error: process 1 was given another config or --workdir than process 0; every "
            "process of a job needs the same flags"], err[-2000:]
    assert not (tmp_path / "w" / "checkpoints").exists()
