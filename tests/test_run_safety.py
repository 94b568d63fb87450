"""A training run that a second run, a failed save, a full disk, a signal or a torn log cannot
break: each one line, the last good checkpoint kept, a resume that gives the same bits.

The subprocess runs use test_cli's narrow vanilla settings, so they share its compiled step.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import chex
import jax
import pytest
from test_cli import ROOT, VANILLA

from jaxgan import checkpoint, lock
from jaxgan.metrics_log import MetricsLogError
from jaxgan.train import train_and_evaluate
from jaxgan.variant_files import load_variant_config

TRAIN = str(ROOT / "bin" / "train.py")
# os.mkdir refuses Orbax's folder for saves from $FAIL_FROM on, as a folder a run may no longer
# write to does (chattr +i, a read-only remount): the portable stand-in, since root ignores modes
REFUSING_MKDIR = """
import os, re, runpy, sys
fail_from = int(os.environ["FAIL_FROM"])
def refusing(make):
    def wrapped(path, *args, **kwargs):
        m = re.match(r"(\\d+)\\.orbax-checkpoint-tmp", os.path.basename(os.fspath(path)))
        if m and int(m.group(1)) >= fail_from:
            raise PermissionError(1, "Operation not permitted", os.fspath(path))
        return make(path, *args, **kwargs)
    return wrapped
os.makedirs, os.mkdir = refusing(os.makedirs), refusing(os.mkdir)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def _config(data_dir, num_steps, **fields):
    """The in-process twin of a CLI run with VANILLA's flags."""
    config = load_variant_config("vanilla")
    config.prior.latent_dim = 32
    config.nets.g_hidden, config.nets.d_hidden = (64, 128), (128, 64)
    config.steps_per_call, config.num_steps = 10, num_steps
    config.data_dir = str(data_dir)
    config.update(fields)
    return config


def _messages(stderr: str) -> list[str]:
    """stderr without tqdm's bars, blank lines and the resume notice."""
    lines = [line.strip() for line in stderr.replace("\r", "\n").splitlines()]
    return [line for line in lines
            if line and "step/s" not in line and "%|" not in line
            and not line.startswith("resuming ")]


def _steps(workdir: Path) -> list[int]:
    return sorted(int(p.name) for p in (workdir / "checkpoints").iterdir() if p.name.isdigit())


@pytest.fixture(scope="module")
def twenty_steps(small_mnist, tmp_path_factory):
    """A workdir with checkpoints 10 and 20, trained in-process."""
    workdir = tmp_path_factory.mktemp("twenty") / "run"
    train_and_evaluate(_config(small_mnist, 20, checkpoint_every=10), workdir, False)
    return workdir


@pytest.fixture
def run20(twenty_steps, tmp_path):
    workdir = tmp_path / "run"
    shutil.copytree(twenty_steps, workdir)
    return workdir


def test_a_held_workdir_is_refused_and_a_killed_holder_leaves_no_lock(tmp_path, small_mnist):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from jaxgan import lock\n"
         "with lock.hold(sys.argv[1]):\n    print('held', flush=True); time.sleep(120)",
         str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(lock.WorkdirBusy, match=rf"another run \(pid {holder.pid} on "):
            train_and_evaluate(_config(small_mnist, 10), tmp_path, False)
        assert not (tmp_path / "config.json").exists()  # the refused run wrote nothing
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with lock.hold(tmp_path):  # the OS dropped the dead holder's lock
        with pytest.raises(lock.WorkdirBusy):  # and it excludes even this process's second hold
            with lock.hold(tmp_path):
                pass


def test_a_refused_save_ends_the_run_in_one_line(run20, small_mnist):
    """Orbax's background save threads never ended after a refused folder: the process hung at
    exit (the timeout). Now: status 1 within seconds, one line, checkpoint 20 kept."""
    r = subprocess.run(
        [sys.executable, "-c", REFUSING_MKDIR, TRAIN, f"--workdir={run20}",
         f"--data_dir={small_mnist}", "--num_steps=40", "--config.checkpoint_every=10",
         *VANILLA],
        capture_output=True, text=True, timeout=150, cwd=ROOT,
        env={**os.environ, "FAIL_FROM": "30"})
    assert r.returncode == 1, r.stderr[-2000:]
    [line] = _messages(r.stderr)
    assert line.startswith(f"error: could not save checkpoint 30 in {run20 / 'checkpoints'}: ")
    assert "Operation not permitted" in line and "checkpoint 20 is the last good one" in line
    assert _steps(run20) == [10, 20]
    assert not list((run20 / "checkpoints").glob("*tmp*"))


def test_a_full_disk_is_one_line_naming_the_last_good_checkpoint(run20, small_mnist):
    """A file size limit below the checkpoint's largest file (ulimit -f): the kernel's EFBIG,
    as a full disk's ENOSPC, surfaces through TensorStore in the middle of Orbax's save."""
    # Orbax's file sizes vary from save to save by tens of percent: a quarter of checkpoint 20's
    # largest file is below the largest of checkpoint 30's. Nothing else is written before that
    # save: no XLA cache entries, no TensorBoard events, no in-loop evaluation.
    largest = max(p.stat().st_size for p in (run20 / "checkpoints" / "20").rglob("*"))
    assert largest > 256 * 1024
    limit = largest // 4

    small_files = ("import resource, runpy, sys\n"
                   f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))\n"
                   "sys.argv = sys.argv[1:]\nrunpy.run_path(sys.argv[0], run_name='__main__')")
    env = {k: v for k, v in os.environ.items() if k != "JAX_COMPILATION_CACHE_DIR"}
    r = subprocess.run(
        [sys.executable, "-c", small_files, TRAIN, f"--workdir={run20}",
         f"--data_dir={small_mnist}", "--num_steps=40", "--config.checkpoint_every=10", *VANILLA,
         "--config.eval_every=0", "--config.tensorboard=False"],
        capture_output=True, text=True, timeout=150, cwd=ROOT,
        env=env | {"JAX_ENABLE_COMPILATION_CACHE": "false"})
    assert r.returncode == 1, r.stderr[-2000:]
    assert _messages(r.stderr) == [
        f"error: could not save checkpoint 30 in {run20 / 'checkpoints'}: the disk is full; "
        "checkpoint 20 is the last good one (run the same command to resume from it)"
    ]
    assert _steps(run20) == [10, 20]


def test_a_torn_last_row_is_dropped_on_resume(run20, small_mnist):
    with open(run20 / "metrics.jsonl", "a") as log:
        log.write('{"step": 25, "d_lo')  # a write cut short past the last checkpoint
    with pytest.warns(UserWarning, match=r"metrics.jsonl: dropped its torn last line 3"):
        train_and_evaluate(_config(small_mnist, 30, checkpoint_every=10), run20, False)
    rows = [json.loads(x) for x in (run20 / "metrics.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows] == [10, 20, 30]


def test_a_torn_row_in_the_middle_is_one_error_naming_its_line(run20, small_mnist):
    path = run20 / "metrics.jsonl"
    first, second = path.read_text().splitlines()
    path.write_text(f"{first}\n{second[:20]}\n{second}\n")
    with pytest.raises(MetricsLogError, match=rf"{re.escape(str(path))}, line 2: not a JSON row"):
        train_and_evaluate(_config(small_mnist, 30, checkpoint_every=10), run20, False)
    assert _steps(run20) == [10, 20]  # nothing trained


def _grid_steps(workdir: Path) -> list[int]:
    return [int(p.stem.rsplit("_", 1)[1]) for p in (workdir / "grids").glob("*.png")]


def _start_and_signal(command, workdir: Path, after_step: int, signum, meanwhile=None):
    """Starts `command`, waits for a grid past `after_step` (the step is compiled and running),
    calls `meanwhile(pid)`, sends `signum`; returns the exit status and stderr."""
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            cwd=ROOT)
    try:
        deadline = time.monotonic() + 240
        while max(_grid_steps(workdir), default=0) <= after_step:
            assert proc.poll() is None, proc.stderr.read()[-2000:]
            assert time.monotonic() < deadline, "the run never got going"
            time.sleep(0.05)
        if meanwhile:
            meanwhile(proc.pid)
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    return proc.returncode, stderr


@pytest.mark.slow
def test_signals_save_a_checkpoint_a_second_run_is_refused_and_resume_is_bit_identical(
        tmp_path, small_mnist):
    """Ctrl-C, then SIGTERM on the resumed run: each finishes its dispatch, saves that step (no
    regular checkpoint is due) and exits 130 / 143 with one line. While the first trains, the
    same command with another seed is refused in one line naming it; while the second trains,
    the workdir can be sampled. Resuming to the end gives the straight run's bits."""
    workdir = tmp_path / "run"
    # no in-loop evaluation: a dispatch then ends at each multiple of steps_per_call only
    command = [sys.executable, TRAIN, "--config.eval_every=0", f"--workdir={workdir}",
               f"--data_dir={small_mnist}", "--num_steps=100000",
               "--config.checkpoint_every=100000", *VANILLA]

    def second_run_is_refused(pid):
        r = subprocess.run([*command, "--seed=1"], capture_output=True, text=True, timeout=120,
                           cwd=ROOT)
        assert r.returncode == 1
        [line] = _messages(r.stderr)
        assert re.fullmatch(rf"error: {re.escape(str(workdir))} is being trained by another "
                            rf"run \(pid {pid} on .+, since .+\); wait for it to end, stop it, "
                            "or pass another --workdir", line), line

    def it_samples_meanwhile(pid):
        out = tmp_path / "samples"
        r = subprocess.run([sys.executable, str(ROOT / "bin" / "sample.py"),
                            f"--workdir={workdir}", f"--out={out}", "--num_samples=4"],
                           capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert r.returncode == 0, r.stderr[-2000:]
        assert len(list(out.glob("*.png"))) == 4

    stopped = []
    for signum, meanwhile in ((signal.SIGINT, second_run_is_refused),
                              (signal.SIGTERM, it_samples_meanwhile)):
        status, stderr = _start_and_signal(command, workdir, max(stopped, default=0), signum,
                                           meanwhile)
        assert status == 128 + signum, stderr[-2000:]
        assert "Traceback" not in stderr
        last = _messages(stderr)[-1]
        m = re.fullmatch(r"stopped at step (\d+); checkpoint \1 saved; run the same command "
                         "to resume", last)
        assert m, last
        stopped.append(int(m.group(1)))
        assert _steps(workdir)[-1] == stopped[-1] and stopped[-1] % 10 == 0
    assert json.loads((workdir / "config.json").read_text())["seed"] == 0
    end = stopped[-1] + 20
    r = subprocess.run([*command[:-4], f"--num_steps={end}", *command[-3:]],
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    straight = train_and_evaluate(_config(small_mnist, end), tmp_path / "straight", False)
    mngr = checkpoint.manager(workdir, create=False)
    try:
        resumed, step = checkpoint.restore_latest(mngr, straight)
    finally:
        mngr.close()
    assert step == end
    chex.assert_trees_all_equal(jax.device_get(resumed), jax.device_get(straight))
    rows = [json.loads(x) for x in (workdir / "metrics.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows] == list(range(10, end + 1, 10))


def test_a_second_signal_stops_at_once():
    code = ("import os, signal, time\nfrom jaxgan.signals import StopRequest\n"
            "with StopRequest() as stop:\n"
            "    os.kill(os.getpid(), signal.SIGINT)\n"
            "    os.kill(os.getpid(), signal.SIGINT)\n"  # the same stop, delivered twice
            "    time.sleep(0.2)\n"
            "    assert stop.signum == signal.SIGINT\n"
            "    time.sleep(StopRequest.REPEAT_SECONDS)\n"
            "    os.kill(os.getpid(), signal.SIGINT)\n"
            "    time.sleep(30)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=20)
    assert r.returncode == 130
    assert r.stderr.count("SIGINT: saving a checkpoint") == 1
    assert r.stderr.strip().splitlines()[-1] == (
        "stopped at once by a second SIGINT: the steps after the last checkpoint are lost; "
        "run the same command to resume")


def test_a_failed_saves_unread_task_exceptions_are_not_logged():
    """asyncio's "Task exception was never retrieved" (a failed save's writes in flight, reported
    whenever they are garbage-collected) is dropped; asyncio's other records are not."""
    import logging

    from jaxgan import checkpoint

    checkpoint._drop_closed_loop_reports()
    log = logging.getLogger("asyncio")
    make = lambda message: log.makeRecord("asyncio", logging.ERROR, __file__, 1, message, (),  # noqa: E731
                                          None)
    assert not log.filter(make("Task exception was never retrieved\nfuture: <Task ...>"))
    assert log.filter(make("Executing <Task ...> took 0.2 seconds"))


def test_a_failed_saves_unawaited_writes_are_not_warned():
    """Python's "coroutine ... was never awaited" for a failed save's Orbax writes (CI saw it
    after the full-disk test's save once) is dropped; the same warning of another is not."""
    import gc
    import warnings

    from jaxgan import checkpoint

    async def write_fragment():
        pass

    async def something_else():
        pass

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        checkpoint._drop_unawaited_writes()
        write_fragment(), something_else()  # never awaited
        gc.collect()
    assert [str(w.message) for w in caught] == [
        f"coroutine '{something_else.__qualname__}' was never awaited"]
