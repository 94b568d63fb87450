"""One line when JAX's distributed runtime ends a process of a multi-process job.

When a job loses a process, or a process cannot join, XLA's coordination service aborts the
others from a C++ thread, with a log of many lines that Python can neither catch nor shorten. So
each process of a multi-process run trains in a child of the process launched: the child's C++
output (file descriptors 1 and 2) goes to an unnamed temporary file, its Python output (progress
bar, errors) to the terminal as before; if the child aborts or is killed, the parent reads that
file and prints one line saying which process ended and why (after an abort it keeps the log, and
names it). The child ends by itself once its parent is gone.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

import jax

LOG_ENV = "JAXGAN_RUNTIME_LOG"  # the child's file descriptor of the runtime log
PARENT_ENV = "JAXGAN_LAUNCHER_PID"
_MARK = re.compile(r"^jaxgan: process (\d+) of \d+$", re.M)
_UNHEALTHY = re.compile(r"stopped sending heartbeats\):\s*\n((?:\s*\d+\s*\n)+)")
_FATAL = re.compile(r"^F\d{4} [^\]]*\] (.*)$", re.M)


def inside() -> bool:
    """Whether this process is the training child of a supervising parent."""
    return LOG_ENV in os.environ


def run(process_id: int | None) -> int:
    """Runs this command again as this process's training child and returns the status to exit
    with: the child's own, or, when a signal or the runtime's abort ended it, 128 + the signal
    after one `error:` line. SIGINT (Ctrl-C reaches the child too) is left to the child; SIGTERM
    is passed on to it, also one that comes before the child exists."""
    child, pending = None, []

    def forward(signum, _):
        if child is None:
            pending.append(signum)
        else:
            child.send_signal(signum)

    # Python-level handlers, not SIG_IGN: the child starts with the default actions again
    previous = {signal.SIGINT: signal.signal(signal.SIGINT, lambda *_: None),
                signal.SIGTERM: signal.signal(signal.SIGTERM, forward)}
    with tempfile.TemporaryFile() as log:
        env = {**os.environ, LOG_ENV: str(log.fileno()), PARENT_ENV: str(os.getpid())}
        try:
            child = subprocess.Popen([sys.executable, *sys.orig_argv[1:]], env=env,
                                     pass_fds=[log.fileno()])
            for signum in pending:
                child.send_signal(signum)
            status = child.wait()
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
        if status >= 0:
            return status
        log.seek(0)
        text = log.read().decode(errors="replace")
    found = _MARK.search(text)
    index = found[1] if found else process_id
    who = "this process" if index is None else f"process {index}"
    line = f"error: {who}: {why(text, -status, index)}"
    if -status == signal.SIGABRT:
        name = "" if index is None else index
        handle, kept = tempfile.mkstemp(prefix=f"jaxgan-process{name}-", suffix=".log")
        with os.fdopen(handle, "w") as file:
            file.write(text)
        line += f" (its runtime log: {kept})"
    newline = "\n" if str(index) == "0" else ""  # after the progress bar that process 0 shows
    print(newline + line, file=sys.stderr, flush=True)
    return 128 - status


def why(log: str, signum: int, index: int | str | None = None) -> str:
    """What ended process `index`'s child, in a few words, from the signal and its C++ log
    (read from its last fatal line on, which names the cause)."""
    if signum != signal.SIGABRT:
        return f"ended by {signal.Signals(signum).name}"
    fatal = list(_FATAL.finditer(log))
    log = log[fatal[-1].start():] if fatal else log
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
    if not fatal:
        return "aborted (SIGABRT)"
    return f"JAX's runtime aborted: {fatal[-1][1].split('absl::Status: ')[-1][:200]}"


def settle() -> None:
    """In the training child (nothing elsewhere): C++ output goes to the parent's log while
    Python's stays on the terminal, and the child ends once its parent is gone."""
    if not inside():
        return
    log = int(os.environ[LOG_ENV])
    sys.stdout.flush()
    sys.stderr.flush()
    old = sys.stdout, sys.stderr
    terminal = os.dup(1), os.dup(2)
    for fd in (1, 2):  # gloo prints to stdout, XLA logs to stderr
        os.dup2(log, fd)
    os.close(log)
    sys.stdout, sys.stderr = (
        os.fdopen(fd, "w", buffering=1, encoding=stream.encoding, errors="backslashreplace")
        for fd, stream in zip(terminal, old, strict=True))
    for handler in _stream_handlers():  # absl's, JAX's: they hold the streams they were given
        if handler.stream in old:
            handler.setStream(sys.stdout if handler.stream is old[0] else sys.stderr)
    parent = int(os.environ[PARENT_ENV])
    threading.Thread(target=_end_when_orphaned, args=(parent,), daemon=True).start()


def mark() -> None:
    """In the training child, once it has joined: which process it is, into the runtime log,
    for the parent's line."""
    if inside():
        os.write(2, f"jaxgan: process {jax.process_index()} of {jax.process_count()}\n".encode())


def _stream_handlers() -> list[logging.StreamHandler]:
    loggers = [logging.getLogger(), *(x for x in logging.Logger.manager.loggerDict.values()
                                      if isinstance(x, logging.Logger))]
    handlers = [h for x in loggers for h in x.handlers]
    handlers += [h.python_handler for h in handlers if hasattr(h, "python_handler")]  # absl's
    return [h for h in handlers if isinstance(h, logging.StreamHandler)]


def _end_when_orphaned(parent: int) -> None:
    """Ends the child, silently, once its parent has gone (killed: whoever killed it meant the
    whole process); also when that happened before this thread started."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)
