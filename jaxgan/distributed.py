"""Many processes, one run: joining JAX's multi-process runtime, and what only one process does.

Every process builds the same state and runs the same step on the global mesh; process 0 alone
writes the workdir's files (config, metrics, grids, plots, TensorBoard, checksums) and shows the
progress bar, while Orbax writes checkpoints with all of them. With one process every helper here
is what a single run does.
"""

from __future__ import annotations

import hashlib
import os
import sys

import jax
import numpy as np
from jax.experimental import multihost_utils


def asked(coordinator_address: str | None = None, num_processes: int | None = None,
          process_id: int | None = None, detect: bool = False) -> bool:
    """Whether these flags ask for a multi-process job."""
    return bool(coordinator_address or num_processes or process_id is not None or detect)


def initialize(coordinator_address: str | None = None, num_processes: int | None = None,
               process_id: int | None = None, detect: bool = False,
               heartbeat_seconds: int = 30, join_seconds: int = 300) -> None:
    """Joins a multi-process job: at the address given, or (`detect`) as JAX finds it under
    SLURM, Open MPI or on a TPU VM; nothing when neither is asked. CPU processes exchange
    through gloo. A process that stops answering for `heartbeat_seconds` ends the job; one that
    cannot join within `join_seconds` ends."""
    if not asked(coordinator_address, num_processes, process_id, detect):
        return
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address, num_processes, process_id,
                               initialization_timeout=join_seconds,
                               heartbeat_timeout_seconds=heartbeat_seconds)


def exit_now(message: str, status: int = 1) -> None:
    """Prints `error: message` and ends this process at once: with many processes, a normal exit
    would wait on the job's shutdown barrier, which a lost process never reaches."""
    leave(f"error: {message}", status)


def leave(line: str, status: int) -> None:
    """Prints `line` and exits with `status`; with many processes at once (`os._exit`), skipping
    the shutdown barrier that a failed or lost process would never reach."""
    print(line, file=sys.stderr, flush=True)
    if count() > 1:
        os._exit(status)
    sys.exit(status)


def count() -> int:
    """The job's processes (1 without `initialize`, asking no backend to start)."""
    return jax.process_count() if jax.distributed.is_initialized() else 1


def who() -> str:
    """`process N: ` in a job of many processes, to begin a line with; else nothing."""
    return f"process {jax.process_index()}: " if count() > 1 else ""


def primary() -> bool:
    """Whether this process writes the run's files (process 0)."""
    return jax.process_index() == 0


def barrier(name: str) -> None:
    """Waits until every process gets here (nothing with one process)."""
    if count() > 1:
        multihost_utils.sync_global_devices(name)


def any_process(flag: bool) -> bool:
    """Whether `flag` is true on any process: a stop asked of one stops all at the same step."""
    if count() == 1:
        return flag
    return bool(np.any(multihost_utils.process_allgather(np.asarray(flag))))


def from_primary(value: float) -> float:
    """Process 0's `value`, on every process."""
    if count() == 1:
        return value
    return float(multihost_utils.broadcast_one_to_all(np.float64(value)))


def check_same(text: str, what: str) -> None:
    """Raises ValueError on every process, in one line naming the first that differs, unless
    every process was given the same `text` (`what` names it)."""
    if count() == 1:
        return
    digest = np.frombuffer(hashlib.sha256(text.encode()).digest(), np.uint32)
    every = np.asarray(multihost_utils.process_allgather(digest))
    differ = [i for i in range(len(every)) if not np.array_equal(every[i], every[0])]
    if differ:
        raise ValueError(f"process {differ[0]} was given another {what} than process 0; every "
                         "process of a job needs the same flags")


def fetch(tree):
    """`tree` as host arrays on every process, wherever its shards live."""
    if count() == 1:
        return jax.device_get(tree)
    return multihost_utils.process_allgather(tree, tiled=True)
