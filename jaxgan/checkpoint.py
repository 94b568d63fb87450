"""Orbax checkpoints of the whole train state in `<workdir>/checkpoints`, verified on restore.

Each saved step also gets `checksums.json`: the size and SHA-256 of every file Orbax wrote for it.
Restoring tries the steps newest first and takes the first whose files all match (checked before
Orbax reads them, so a truncated or flipped file costs one line, not a traceback); a damaged step
is reported in one line and skipped. A step without checksums (written by an older jaxgan, or by a
run killed between the two writes) is restored unverified, with a note.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import shutil
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import jax
import orbax.checkpoint as ocp

from jaxgan import distributed
from jaxgan.files import write_atomic

CHECKSUMS = "checksums.json"


class CheckpointError(ValueError):
    """No saved step of a workdir is intact, or the newest intact one does not fit the run."""


class SaveError(OSError):
    """A checkpoint could not be written (a full disk, a folder that refuses writes)."""


def _warn(message: str) -> None:
    print(message, file=sys.stderr)


def has_checkpoint(workdir: Path) -> bool:
    """Whether `workdir/checkpoints` holds a saved step (Orbax names them by step number)."""
    ckpt = workdir / "checkpoints"
    return ckpt.is_dir() and any(p.name.isdigit() for p in ckpt.iterdir())


def manager(workdir: str | Path, keep: int = 3, create: bool = True) -> ocp.CheckpointManager:
    """The manager of `<workdir>/checkpoints`; `create=False` for readers, which make no folder.
    A writer (which holds the workdir's lock) removes the partial saves a killed run left.

    Saves are synchronous: `save` waits for them anyway, and Orbax's background save threads
    never end when the save fails (the process then hangs at exit).
    """
    directory = Path(workdir).resolve() / "checkpoints"
    options = ocp.CheckpointManagerOptions(
        max_to_keep=keep, create=create, enable_async_checkpointing=False,
        cleanup_tmp_directories=create,
    )
    return ocp.CheckpointManager(
        directory, options=options, item_handlers=ocp.StandardCheckpointHandler()
    )


def file_digests(step_dir: Path) -> dict[str, list]:
    """Relative path -> [size, sha256] of every file of a saved step but its checksums."""
    out = {}
    for path in sorted(p for p in step_dir.rglob("*") if p.is_file() and p.name != CHECKSUMS):
        digest = hashlib.sha256()
        with open(path, "rb") as file:
            while chunk := file.read(1 << 20):
                digest.update(chunk)
        out[path.relative_to(step_dir).as_posix()] = [path.stat().st_size, digest.hexdigest()]
    return out


_DISK_FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


def is_disk_full(error: BaseException) -> bool:
    """Whether `error` (or one it came from) says the disk or a size quota is full; TensorStore
    reports that as OUT_OF_RANGE or RESOURCE_EXHAUSTED in its message, without an errno."""
    while error is not None:
        if getattr(error, "errno", None) in _DISK_FULL:
            return True
        text = str(error)
        if any(s in text for s in ("OUT_OF_RANGE", "RESOURCE_EXHAUSTED", "No space left",
                                    "File too large", "Disk quota")):
            return True
        error = error.__cause__ or error.__context__
    return False


def save(mngr: ocp.CheckpointManager, state) -> None:
    """Saves `state` at its step with its checksums, and waits: a crash right after loses
    nothing. A failed save removes what it left and raises SaveError in one line."""
    step = int(jax.device_get(state.step))
    directory = Path(mngr.directory)
    _drop_closed_loop_reports()
    try:
        with _orbax_quiet():
            mngr.save(step, args=ocp.args.StandardSave(state), force=True)
            mngr.wait_until_finished()
        step_dir = directory / str(step)
        if distributed.primary():  # after Orbax's save, which every process has finished
            write_atomic(step_dir / CHECKSUMS, json.dumps(file_digests(step_dir), indent=0),
                         fsync=True)
        distributed.barrier(f"checksums_{step}")
    except Exception as e:  # noqa: BLE001 -- Orbax and TensorStore raise many types
        _drop_unawaited_writes()
        for partial in directory.glob(f"{step}.orbax-checkpoint-tmp*"):
            shutil.rmtree(partial, ignore_errors=True)
        if (directory / str(step)).is_dir() and not (directory / str(step) / CHECKSUMS).is_file():
            shutil.rmtree(directory / str(step), ignore_errors=True)
        why = "the disk is full" if is_disk_full(e) else _one_line(e)
        raise SaveError(f"could not save checkpoint {step} in {directory}: {why}") from None


def _never_retrieved(record: logging.LogRecord) -> bool:
    """False for asyncio's report of a task whose exception nobody read (a failed save's writes
    still in flight, garbage-collected at some later moment)."""
    return not record.getMessage().startswith("Task exception was never retrieved")


def _drop_unawaited_writes() -> None:
    """After a failed save, Python's warning about each of its writes that never ran (Orbax's
    `write_fragment` coroutines, garbage-collected at some later moment) is dropped."""
    warnings.filterwarnings("ignore", r"coroutine '.*write_fragment' was never awaited",
                            RuntimeWarning)


def _drop_closed_loop_reports() -> None:
    """When a save fails, TensorStore's writes still in flight report back to Orbax's event
    loop, closed by then, during the save and after it; Python prints each as an unraisable
    RuntimeError traceback, and asyncio logs the tasks whose exception nobody read, none of it
    saying anything SaveError does not. Those alone are dropped."""
    asyncio_log = logging.getLogger("asyncio")
    if _never_retrieved not in asyncio_log.filters:
        asyncio_log.addFilter(_never_retrieved)
    previous = sys.unraisablehook
    if getattr(previous, "drops_closed_loop", False):
        return

    def hook(unraisable):
        error = unraisable.exc_value
        if not (isinstance(error, RuntimeError) and "Event loop is closed" in str(error)):
            previous(unraisable)

    hook.drops_closed_loop = True
    sys.unraisablehook = hook


@contextlib.contextmanager
def _orbax_quiet():
    """Hides Orbax's logged tracebacks of a failing save (SaveError says it in one line)."""
    logger = logging.getLogger("absl")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _problem(step_dir: Path) -> str | None:
    """Why a saved step's files do not match its checksums (None: they do, or it has none)."""
    path = step_dir / CHECKSUMS
    if not path.is_file():
        return None
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        return f"unreadable {CHECKSUMS} ({e})"
    got = file_digests(step_dir)
    bad = sorted(k for k in saved.keys() | got.keys() if saved.get(k) != got.get(k))
    if bad:
        what = "missing" if bad[0] not in got else "changed" if bad[0] in saved else "unexpected"
        return f"{len(bad)} of its files differ from their checksums, e.g. {bad[0]} ({what})"
    return None


def _one_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[0] if lines else ""
    return f"{type(error).__name__}: {text[:200]}"


def _leaf_name(path) -> str:
    """`d_opt_state.0.mu.params...`: the same for the state and for Orbax's metadata tree."""
    parts = (getattr(k, "key", getattr(k, "name", getattr(k, "idx", k))) for k in path)
    return ".".join(str(part) for part in parts)


def _misfit(mngr: ocp.CheckpointManager, step: int, abstract) -> str | None:
    """The first array whose saved shape differs from this run's (None: all fit, or no
    metadata to tell), e.g. the data order of a training set of another size."""
    try:
        metadata = mngr.item_metadata(step)
    except Exception:  # noqa: BLE001 -- unreadable metadata: the restore itself will say
        return None
    tree = getattr(metadata, "tree", metadata)
    saved = {
        _leaf_name(path): tuple(leaf.shape)
        for path, leaf in jax.tree_util.tree_leaves_with_path(tree)
        if hasattr(leaf, "shape")
    }
    for path, leaf in jax.tree_util.tree_leaves_with_path(abstract):
        name = _leaf_name(path)
        if name in saved and saved[name] != tuple(leaf.shape):
            return f"{name} has shape {saved[name]} there and {tuple(leaf.shape)} here"
    return None


def restore_latest(
    mngr: ocp.CheckpointManager, target, warn: Callable[[str], None] = _warn
) -> tuple[object, int] | None:
    """(state, step) of the newest intact step, shaped (and sharded) like `target`; None when
    nothing was saved. Damaged steps are skipped with one `warn` line each; CheckpointError when
    none is intact."""
    steps = sorted(mngr.all_steps(), reverse=True)
    if not steps:
        return None
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, target)
    directory = Path(mngr.directory)
    damaged = []
    for step in steps:
        problem = _problem(directory / str(step))
        if problem is None and (misfit := _misfit(mngr, step, abstract)):
            raise CheckpointError(
                f"checkpoint {step} in {directory} does not fit this run ({misfit}; a training "
                "set of another size?); use the run's own data or another --workdir"
            )
        if problem is None:
            try:
                restored = mngr.restore(step, args=ocp.args.StandardRestore(abstract))
            # Orbax and TensorStore raise many types for unreadable files: all mean "unusable".
            except Exception as e:  # noqa: BLE001
                problem = f"unreadable ({_one_line(e)})"
            else:
                if not (directory / str(step) / CHECKSUMS).is_file():
                    warn(f"checkpoint {step} in {directory} has no {CHECKSUMS}; not verified")
                elif damaged:
                    warn(f"using checkpoint {step}, the newest intact one")
                return restored, step
        damaged.append(step)
        warn(f"checkpoint {step} in {directory} is damaged: {problem}")
    raise CheckpointError(
        f"no intact checkpoint in {directory} (damaged: {', '.join(map(str, damaged))}); "
        "delete the folder to start again"
    )


def saved_shape(mngr: ocp.CheckpointManager, field: str) -> tuple[int, ...]:
    """The shape of the state's array `field` in the newest intact step, from its metadata alone
    (damaged steps are left to `restore_latest` to report)."""
    directory = Path(mngr.directory)
    for step in sorted(mngr.all_steps(), reverse=True):
        if _problem(directory / str(step)) is None:
            try:
                metadata = mngr.item_metadata(step)
                return tuple(getattr(metadata, "tree", metadata)[field].shape)
            except Exception:  # noqa: BLE001 -- unreadable: an older step may do
                continue
    raise CheckpointError(f"no intact checkpoint in {directory}; delete the folder to start again")


def set_aside_after(mngr: ocp.CheckpointManager, step: int, where: Path) -> None:
    """Moves the saved steps after `step` (the damaged ones a resume skipped) to `where/<step>`,
    so the resumed run can save those steps again; says so in one line each."""
    directory = Path(mngr.directory)
    for later in sorted(s for s in mngr.all_steps() if s > step):
        where.mkdir(parents=True, exist_ok=True)
        target = where / str(later)
        if target.exists():
            target = where / f"{later}.{os.getpid()}"
        os.replace(directory / str(later), target)
        _warn(f"moved damaged checkpoint {later} to {target}")
    mngr.reload()
