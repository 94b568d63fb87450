"""One line when JAX's distributed runtime ends a process of a multi-process job.

When a job loses a process, or a process cannot join, XLA's coordination service aborts the
others from a C++ thread, with a log of many lines that Python can neither catch nor shorten. So
each process of a multi-process run trains in a child of the process launched: the child's C++
output (file descriptors 1 and 2) goes to a file, its Python output (progress bar, errors) to the
terminal as before; if the child aborts or is killed, the parent reads that file and prints one
line saying which process ended and why. The child ends by itself once its parent is gone.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import jax
from absl import logging

LOG_ENV = "JAXGAN_RUNTIME_LOG"
_MARK = re.compile(r"^jaxgan: process (\d+) of \d+$", re.M)
_UNHEALTHY = re.compile(r"stopped sending heartbeats\):\s*\n((?:\s*\d+\s*\n)+)")
_FATAL = re.compile(r"^F\d{4} [^\]]*\] (.*)$", re.M)


def inside() -> bool:
    """Whether this process is the training child of a supervising parent."""
    return LOG_ENV in os.environ


def run(argv: list[str], process_id: int | None) -> int:
    """Runs `python argv` as this process's training child and returns the status to exit with:
    the child's own, or, when a signal or the runtime's abort ended it, 128 + the signal after
    one `error:` line. SIGINT (Ctrl-C reaches the child too) is left to the child; SIGTERM is
    passed on to it."""
    name = "" if process_id is None else process_id
    handle, log = tempfile.mkstemp(prefix=f"jaxgan-process{name}-", suffix=".log")
    os.close(handle)
    child = subprocess.Popen([sys.executable, *argv], env={**os.environ, LOG_ENV: log})
    previous = {signal.SIGINT: signal.signal(signal.SIGINT, signal.SIG_IGN),
                signal.SIGTERM: signal.signal(signal.SIGTERM, lambda s, _: child.send_signal(s))}
    try:
        status = child.wait()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if status >= 0:
        os.unlink(log)
        return status
    text = Path(log).read_text(errors="replace")
    found = _MARK.search(text)
    index = found[1] if found else process_id
    who = "this process" if index is None else f"process {index}"
    newline = "\n" if str(index) == "0" else ""  # after the progress bar that process 0 shows
    print(f"{newline}error: {who}: {why(text, -status, index)} (its runtime log: {log})",
          file=sys.stderr, flush=True)
    return 128 - status


def why(log: str, signum: int, index: int | str | None = None) -> str:
    """What ended process `index`'s child, in a few words, from the signal and its C++ log."""
    if signum != signal.SIGABRT:
        return f"ended by {signal.Signals(signum).name}"
    if "RegisterTask" in log:
        if str(index) == "0":
            return "the other processes did not all join within --join_seconds"
        return ("could not join the job within --join_seconds: is process 0 running, and is "
                "--coordinator_address right?")
    unhealthy = _UNHEALTHY.search(log)
    if unhealthy:
        ids = ", ".join(unhealthy[1].split())
        return f"process {ids} of the job stopped answering, so the job ends"
    if re.search(r"/Heartbeat|Failed to send RPC to coordination service|Socket closed", log):
        return "lost the job's coordinator (process 0), so the job ends"
    fatal = _FATAL.search(log)
    if not fatal:
        return "aborted (SIGABRT)"
    return f"JAX's runtime aborted: {fatal[1].split('absl::Status: ')[-1][:200]}"


def settle() -> None:
    """In the training child (nothing elsewhere): C++ output goes to the parent's file while
    Python's stays on the terminal, and the child ends once its parent is gone."""
    log = os.environ.get(LOG_ENV)
    if not log:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    terminal = os.dup(1), os.dup(2)
    handle = os.open(log, os.O_WRONLY | os.O_APPEND)
    for fd in (1, 2):  # gloo prints to stdout, XLA logs to stderr
        os.dup2(handle, fd)
    os.close(handle)
    sys.stdout = os.fdopen(terminal[0], "w", buffering=1, errors="backslashreplace")
    sys.stderr = os.fdopen(terminal[1], "w", buffering=1, errors="backslashreplace")
    logging.get_absl_handler().python_handler.setStream(sys.stderr)
    threading.Thread(target=_end_when_orphaned, args=(os.getppid(), log), daemon=True).start()


def mark() -> None:
    """In the training child, once it has joined: which process it is, into the runtime log,
    for the parent's line."""
    if inside():
        os.write(2, f"jaxgan: process {jax.process_index()} of {jax.process_count()}\n".encode())


def _end_when_orphaned(parent: int, log: str) -> None:
    """Ends the child, silently and without its log, once its parent has been killed: whoever
    killed it meant the whole process."""
    while os.getppid() == parent:
        time.sleep(0.5)
    Path(log).unlink(missing_ok=True)
    os._exit(1)
