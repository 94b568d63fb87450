"""Stopping a training run cleanly on SIGINT (Ctrl-C) or SIGTERM (a scheduler, a preemptible
machine): the loop finishes its dispatch, saves a checkpoint and raises Stopped."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time


class Stopped(RuntimeError):
    """The run stopped on a signal after saving a checkpoint; `status` is the exit status of a
    process that signal ends (128 + its number)."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.status = 128 + signum


class StopRequest:
    """SIGINT and SIGTERM (Ctrl-C, a scheduler's preemption) while training: the first asks the
    loop to stop after the current dispatch; a second, a second or more later, ends the process at
    once. One within the second is the same stop delivered twice (a scheduler that signals every
    process of a job, and a multi-process launcher that passes its SIGTERM on)."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)
    REPEAT_SECONDS = 1.0

    def __init__(self):
        self.signum, self._previous, self._at = None, {}, 0.0

    def _handle(self, signum, frame):
        name = signal.Signals(signum).name
        if self.signum is not None and time.monotonic() - self._at < self.REPEAT_SECONDS:
            return
        if self.signum is not None:
            _say(f"\nstopped at once by a second {name}: the steps after the last checkpoint are "
                 "lost; run the same command to resume\n")
            os._exit(128 + signum)
        self.signum, self._at = signum, time.monotonic()
        _say(f"\n{name}: saving a checkpoint after the current steps ({name} again stops at "
             "once)\n")

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():  # where Python allows handlers
            self._previous = {s: signal.signal(s, self._handle) for s in self.SIGNALS}
        return self

    def __exit__(self, *exc):
        for s, handler in self._previous.items():
            signal.signal(s, handler)


def _say(text: str) -> None:
    """Writes `text` to Python's stderr unbuffered, as a signal handler may: its file descriptor,
    which a multi-process run's child (jaxgan/supervisor.py) has moved off 2."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # a captured stderr, as under pytest
        fd = 2
    os.write(fd, text.encode())
