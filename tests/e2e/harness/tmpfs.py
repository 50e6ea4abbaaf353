"""A small private tmpfs, so that a guest's disk writes fail with ENOSPC."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

BLOCK = 4096


@contextlib.contextmanager
def mounted(directory: Path, size: int) -> Iterator[Path]:
    """A tmpfs of ``size`` bytes on ``directory`` (created); unmounted on exit."""
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%d,mode=0755" % size, "enr-tmpfs",
                    str(directory)], check=True, capture_output=True)
    try:
        yield directory
    finally:
        subprocess.run(["umount", "-l", str(directory)], check=False, capture_output=True)
        with contextlib.suppress(OSError):
            directory.rmdir()


def fill(directory: Path) -> None:
    """Write zeros into ``directory/filler`` until its file system is full."""
    free = os.statvfs(directory)
    with contextlib.suppress(OSError), (directory / "filler").open("wb") as filler:
        for _ in range(free.f_bavail * free.f_frsize // BLOCK + 1):  # the last one fails
            filler.write(bytes(BLOCK))
            filler.flush()
    if os.statvfs(directory).f_bavail:
        raise RuntimeError("could not fill the tmpfs at %s" % directory)
