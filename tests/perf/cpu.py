"""CPU and memory accounting from /proc: per process, per role, per window."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")
# libvirt runs QEMU with debug-threads=on: vCPU threads are "CPU <n>/KVM" (or /TCG).
VCPU_SUFFIXES = ("/KVM", "/TCG")


def _stat_fields(path: Path) -> list[str] | None:
    """Fields of a /proc stat file after the ``(comm)`` field, or None if gone."""
    try:
        text = path.read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text.rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of ``pid`` (all its threads, dead ones included), in seconds."""
    fields = _stat_fields(Path(f"/proc/{pid}/stat"))
    if fields is None:
        return None
    # fields[0] is the state (field 3); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def vcpu_seconds(pid: int) -> float:
    """utime + stime of the vCPU threads of a QEMU process, in seconds."""
    total = 0
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except FileNotFoundError:
        return 0.0
    for task in tasks:
        try:
            comm = (task / "comm").read_text().strip()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if comm.startswith("CPU ") and comm.endswith(VCPU_SUFFIXES):
            fields = _stat_fields(task / "stat")
            if fields is not None:
                total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of ``pid`` in KiB (empty if it is gone)."""
    out: dict[str, int] = {}
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except (FileNotFoundError, ProcessLookupError):
        return out
    for line in lines:
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


@dataclasses.dataclass(frozen=True)
class Reading:
    """CPU seconds per role and per pid at one instant."""

    at: float
    per_pid: Mapping[str, Mapping[int, float]]


class CpuMeter:
    """Reads CPU seconds of process groups ("roles") and subtracts two readings.

    ``roles`` maps a role name to a function returning its current pids; a
    role whose name ends in ``_vcpu`` counts only vCPU threads of its pids.
    A process that appears or vanishes between readings is left out of the
    delta (its CPU cannot be attributed to the window).
    """

    def __init__(self, roles: Mapping[str, Callable[[], Iterable[int]]]) -> None:
        self.roles = dict(roles)

    def read(self) -> Reading:
        per_pid: dict[str, dict[int, float]] = {}
        for role, pids in self.roles.items():
            values: dict[int, float] = {}
            for pid in pids():
                secs = vcpu_seconds(pid) if role.endswith("_vcpu") else cpu_seconds(pid)
                if secs is not None:
                    values[pid] = secs
            per_pid[role] = values
        return Reading(time.monotonic(), per_pid)

    @staticmethod
    def delta(start: Reading, end: Reading) -> dict[str, float]:
        """CPU seconds per role between two readings (pids present in both)."""
        out = {}
        for role, before in start.per_pid.items():
            after = end.per_pid.get(role, {})
            out[role] = sum(after[pid] - secs for pid, secs in before.items() if pid in after)
        return out
