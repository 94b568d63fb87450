"""One training run per workdir: an exclusive `flock` on `<workdir>/train.lock`.

The OS drops the lock when its process ends, however it ends (a kill -9 included), so a lock is
never stale. The file also names its holder (pid, host, start time) for the run that is refused.
It is left in place when the run ends: removing it would let a run that opened the old file and
a run that creates a new one both hold "the" lock. Readers (sampling, evaluating) take no lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

LOCK_FILE = "train.lock"


class WorkdirBusy(ValueError):
    """Another run holds the workdir."""


def _holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"null")
        return f"pid {info['pid']} on {info['host']}, since {info['since']}"
    except (OSError, ValueError, TypeError, KeyError):
        return "a run that is just starting"


@contextlib.contextmanager
def hold(workdir: str | Path) -> Iterator[None]:
    """Holds `workdir` for this process; WorkdirBusy (one line naming the holder) when another
    process holds it."""
    path = Path(workdir) / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(fd)
        os.close(fd)
        raise WorkdirBusy(
            f"{workdir} is being trained by another run ({holder}); wait for it to end, stop it, "
            "or pass another --workdir"
        ) from None
    try:
        since = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime())
        info = {"pid": os.getpid(), "host": socket.gethostname(), "since": since}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock
