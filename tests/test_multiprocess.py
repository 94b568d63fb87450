"""Two processes of bin/train.py on localhost (two CPU devices each, gloo between them) against one
process on four: the same run, checkpoints that resume across process counts; a lost process (killed
or hung) that ends the other within a bounded time in one line, and a process with no job to join
that ends in one line too."""

from __future__ import annotations

import contextlib
import json
import os
import re
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


def _launch(workdir, data_dir, steps: int, processes: int, extra=(),
            each=lambda i: ()) -> list[subprocess.Popen]:
    """`processes` processes of one run (`each(i)`: process i's own extra flags)."""
    env = dict(os.environ, JAX_PLATFORMS="cpu", TMPDIR=str(workdir.parent),  # runtime logs
               XLA_FLAGS=f"--xla_force_host_platform_device_count={4 // processes}")
    args = [sys.executable, str(ROOT / "bin" / "train.py"), f"--workdir={workdir}",
            f"--data_dir={data_dir}", f"--num_steps={steps}", *RUN, *extra]
    if processes == 1:
        return [subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)]
    port = _port()
    return [subprocess.Popen([*args, *each(i), f"--coordinator_address=localhost:{port}",
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


PROGRESS = re.compile(r"\d+%\|")


def _lines(err: str) -> list[str]:
    """The lines of a process's stderr, less the progress bar's frames."""
    frames = (line.split("\r")[-1] for line in err.splitlines())
    return [f for f in frames if f.strip() and not PROGRESS.search(f)]


def _children(launcher: subprocess.Popen) -> list[int]:
    """The pids of a live launcher's children (Linux's /proc)."""
    path = Path(f"/proc/{launcher.pid}/task/{launcher.pid}/children")
    return [int(pid) for pid in path.read_text().split()] if path.exists() else []


def _child(launcher: subprocess.Popen) -> int:
    """The pid of the training child that a multi-process launcher runs under it."""
    children = _children(launcher)
    assert len(children) == 1, children
    return children[0]


# (what happens, to which process, what the other process's one line says)
ENDS = [("kill the launcher", 1, "error: process 0: "),
        ("kill the child", 0, "error: process 1: "),
        ("hang the child", 1, "error: process 0: process 1 of the job stopped answering")]


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the children in /proc")
@pytest.mark.parametrize("how, victim, line", ENDS, ids=[e[0] for e in ENDS])
def test_a_lost_process_ends_the_other_in_one_line(tmp_path, small_mnist, how, victim, line):
    """Whichever process is lost (the coordinator included), however (killed, or hung and silent
    past --heartbeat_seconds), the other ends within a bounded time with one `error:` line on
    stderr and nothing else: XLA's own multi-line abort stays in the runtime log."""
    workdir = tmp_path / "w"
    procs, children = _launch(workdir, small_mnist, 100000, 2, ["--heartbeat_seconds=5"]), []
    try:
        deadline = time.monotonic() + 240
        while not list((workdir / "checkpoints").glob("*/checksums.json")):
            assert time.monotonic() < deadline and procs[0].poll() is None, "no checkpoint"
            time.sleep(0.5)
        children = [_child(p) for p in procs]
        if how == "kill the launcher":
            procs[victim].send_signal(signal.SIGKILL)
        else:
            os.kill(children[victim], signal.SIGSTOP if how == "hang the child" else signal.SIGKILL)
        survivor = procs[1 - victim]
        start = time.monotonic()
        _, err = survivor.communicate(timeout=90)
        assert time.monotonic() - start < 90 and survivor.returncode != 0
        lines = _lines(err)
        assert len(lines) == 1 and lines[0].startswith(line), err[-3000:]
        if how == "kill the child":  # the victim's launcher says what ended it
            _, err = procs[victim].communicate(timeout=30)
            assert _lines(err) == [f"error: process {victim}: ended by SIGKILL"], err[-3000:]
        if how == "kill the launcher":  # its child ends by itself
            deadline = time.monotonic() + 30
            while not _gone(children[victim]):
                assert time.monotonic() < deadline, "the orphaned child lives on"
                time.sleep(0.2)
    finally:
        for p in procs:  # what is left: children still under a live launcher, then the launcher
            if p.poll() is None:
                for pid in _children(p):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            p.kill()
            p.communicate()


def _gone(pid: int) -> bool:
    """Whether `pid` has ended (exited, or a zombie that only waits to be reaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


@pytest.mark.slow
def test_a_process_that_cannot_join_ends_in_one_line(tmp_path, small_mnist):
    """Process 1 of 2 with no process 0 to join: one line within --join_seconds, not XLA's
    abort after five minutes."""
    env = dict(os.environ, JAX_PLATFORMS="cpu", TMPDIR=str(tmp_path))
    done = subprocess.run(
        [sys.executable, str(ROOT / "bin" / "train.py"), f"--workdir={tmp_path / 'w'}",
         f"--data_dir={small_mnist}", "--num_steps=4", f"--coordinator_address=localhost:{_port()}",
         "--num_processes=2", "--process_id=1", "--join_seconds=2"],
        env=env, capture_output=True, text=True, timeout=120)
    lines = _lines(done.stderr)
    assert done.returncode == 128 + signal.SIGABRT and len(lines) == 1, done.stderr[-3000:]
    assert lines[0].startswith("error: process 1: could not join the job within --join_seconds")
    log = Path(lines[0].split("(its runtime log: ")[1].rstrip(")"))
    assert "RegisterTask" in log.read_text()  # XLA's own account, kept for whoever wants it
    assert done.stdout == ""


@pytest.mark.slow
def test_a_flag_given_to_one_process_only_is_refused(tmp_path, small_mnist):
    """Process 1 alone is given --seed=1: both refuse in one line before training."""
    procs = _launch(tmp_path / "w", small_mnist, 4, 2, each=lambda i: [f"--seed={i}"])
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 1 and _lines(err) == [
            f"error: process {procs.index(p)}: process 1 was given another config or --workdir "
            "than process 0; every process of a job needs the same flags"], err[-2000:]
    assert not (tmp_path / "w" / "checkpoints").exists()
