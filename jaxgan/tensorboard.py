"""TensorBoard event files of a run, written with tensorboardX (no TensorFlow needed):
`<workdir>/tensorboard/`, or `tensorboard/member_<i>/` for each member of a population, so
that `tensorboard --logdir runs/` shows every run and member.

A resumed run purges the events past its checkpoint (TensorBoard's `purge_step`), as the
training log does, so its curves read as if it had never stopped.
"""

from __future__ import annotations

import shutil
import struct
import sys
from pathlib import Path

import numpy as np
from PIL import Image

# tensorboardX imports torch whenever it is installed, only to accept torch tensors: 1.4 s of
# import (python -X importtime) and about 180 MB for every training process. It is handed numpy
# arrays here, so torch is kept out of that import (a None in sys.modules makes `import torch`
# fail) and left importable afterwards.
_TORCH_UNLOADED = "torch" not in sys.modules
if _TORCH_UNLOADED:
    sys.modules["torch"] = None
try:
    from tensorboardX import SummaryWriter
    from tensorboardX.proto import event_pb2
finally:
    if _TORCH_UNLOADED:
        del sys.modules["torch"]

FOLDER = "tensorboard"


class Board:
    """One writer per member; `None`-safe: a disabled board does nothing."""

    def __init__(self, workdir: Path, members: int, start_step: int, enabled: bool = True):
        self.writers = []
        if not enabled:
            return
        root = Path(workdir) / FOLDER
        if not start_step:  # a run starting afresh: events of an earlier start are not its own
            shutil.rmtree(root, ignore_errors=True)
        dirs = [root] if members == 1 else [root / f"member_{i}" for i in range(members)]
        purge = start_step + 1 if start_step else None  # events after the resumed step go
        self.writers = [SummaryWriter(str(d), purge_step=purge, flush_secs=30) for d in dirs]

    def scalars(self, step: int, values: dict[str, float], member: int = 0,
                prefix: str = "train") -> None:
        if self.writers:
            for name, value in values.items():
                self.writers[member].add_scalar(f"{prefix}/{name}", value, step)

    def image(self, step: int, tag: str, png: Path, member: int = 0) -> None:
        """A PNG the run wrote (an epoch's grid), as an image event."""
        if self.writers:
            with Image.open(png) as image:
                pixels = np.asarray(image.convert("RGB"))
            self.writers[member].add_image(tag, pixels, step, dataformats="HWC")

    def flush(self) -> None:
        for writer in self.writers:
            writer.flush()

    def close(self) -> None:
        for writer in self.writers:
            writer.close()


def read_scalars(folder: str | Path) -> dict[str, dict[int, float]]:
    """tag -> step -> value of the scalar events in `folder`'s event files, oldest file first,
    with a later write of a step replacing an earlier one and purges applied, as TensorBoard
    shows them."""
    out: dict[str, dict[int, float]] = {}
    for path in sorted(Path(folder).glob("events.out.tfevents.*")):
        for event in _events(path):
            if event.HasField("session_log") and event.session_log.status == 1:  # START
                if event.step:  # a resumed writer's purge: drop every later step
                    for steps in out.values():
                        for s in [s for s in steps if s >= event.step]:
                            del steps[s]
            for value in event.summary.value:
                if value.HasField("simple_value"):
                    out.setdefault(value.tag, {})[event.step] = value.simple_value
    return out


def _events(path: Path):
    """The Event records of one TFRecord file (length, its CRC, data, its CRC)."""
    data = path.read_bytes()
    offset = 0
    while offset + 12 <= len(data):
        (length,) = struct.unpack("<Q", data[offset : offset + 8])
        start = offset + 12
        if start + length + 4 > len(data):
            break  # a torn last record
        event = event_pb2.Event()
        event.ParseFromString(data[start : start + length])
        yield event
        offset = start + length + 4
