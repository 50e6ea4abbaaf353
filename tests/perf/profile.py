"""Sample the enricher with py-spy while it is scraped, and list its hot spots."""

from __future__ import annotations

import collections
import dataclasses
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from tests.perf import report

FRAME_RE = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def py_spy() -> str | None:
    """The py-spy executable next to this interpreter, or on PATH."""
    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


def start(pid: int, seconds: float, output: Path, rate: int = 250) -> subprocess.Popen[bytes]:
    """Start ``py-spy record`` (raw collapsed stacks, non-blocking) on ``pid``."""
    exe = py_spy()
    if exe is None:
        raise RuntimeError("py-spy is not installed: pip install py-spy")
    argv = [exe, "record", "--pid", str(pid), "--duration", str(int(seconds)),
            "--rate", str(rate), "--format", "raw", "--nonblocking", "--output", str(output)]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _short(frame: str) -> str:
    """``func (path/to/file.py:12)`` -> ``func (file.py)``, shortened for a table cell."""
    match = FRAME_RE.match(frame.strip())
    if not match:
        return frame.strip()
    path = match.group("file")
    marker = "/enricher/"
    if marker in path:
        path = "enricher/" + path.rsplit(marker, 1)[1]
    else:
        path = "/".join(path.split("/")[-2:])
    return f"{match.group('func')}({path})"


@dataclasses.dataclass
class Profile:
    """Sample counts by function: own (leaf) and inclusive."""

    samples: int
    own: collections.Counter[str]
    inclusive: collections.Counter[str]


def summarize(lines: Iterable[str]) -> Profile:
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in lines:
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_short(f) for f in stack.split(";")]
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    return Profile(total, own, inclusive)


def table(profile: Profile, seconds: float, rate: int, top: int = 15, title: str = "") -> str:
    """Top functions by own samples, with inclusive share; CPU ms per second of wall."""
    ms_per_sample = 1000 / rate
    rows = []
    for func, count in profile.own.most_common(top):
        rows.append([func.replace(" ", "_"), str(count),
                     report.fmt(100 * count / max(1, profile.samples)),
                     report.fmt(100 * profile.inclusive[func] / max(1, profile.samples)),
                     report.fmt(count * ms_per_sample / seconds, 2)])
    cum = [[func.replace(" ", "_"), str(count),
            report.fmt(100 * count / max(1, profile.samples))]
           for func, count in profile.inclusive.most_common(top)]
    return "\n\n".join([
        report.table(("function", "own_samples", "own_%", "incl_%", "cpu_ms/s"), rows,
                     f"{title}: {profile.samples} active samples at {rate} Hz, own time"),
        report.table(("function", "incl_samples", "incl_%"), cum,
                     f"{title}: inclusive time")])
