"""Per-vCPU figures read from QEMU's vCPU threads in /proc, where libvirt reads them.

libvirt's ``vcpu`` stats group takes ``vcpu.<n>.time`` from the thread's
``/proc/<pid>/task/<tid>/stat`` (user + system ticks), ``vcpu.<n>.delay``
from its ``schedstat`` (run-queue delay) and ``vcpu.<n>.wait`` from its
``sched`` file (``wait_sum``, only on kernels with scheduler statistics), but
the same group also asks every QEMU for halted state and KVM statistics over
QMP: two round trips into each VM. Reading the thread files here gives the
same values at no cost to libvirtd or QEMU.

QEMU names each vCPU thread ``CPU <n>/KVM`` (``/TCG`` without KVM; libvirt
always enables thread names), one thread per online vCPU. The maximum comes
from the ``-smp ...,maxcpus=<m>`` argument libvirt puts on QEMU's command line.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from enricher.libvirt.cgroup import NS_PER_TICK, read_file

_VCPU_COMM = re.compile(r"CPU (\d+)/")
# In /proc/<pid>/stat, after "(comm)": field 3 is index 0, so utime (14) is 11.
_UTIME, _STIME = 11, 12
NS_PER_MS = 1_000_000

VcpuStats = dict[str, int]


def smp_counts(args: list[bytes]) -> tuple[int, int] | None:
    """(online, maximum) vCPUs from QEMU's ``-smp`` argument, or None."""
    try:
        value = args[args.index(b"-smp") + 1].decode()
    except (ValueError, IndexError, UnicodeDecodeError):
        return None
    online = maximum = None
    for part in value.split(","):
        key, sep, number = part.partition("=")
        if not sep:
            key, number = "cpus", key
        if not number.isdigit():
            continue
        if key == "cpus":
            online = int(number)
        elif key == "maxcpus":
            maximum = int(number)
    if online is None:
        return None
    return online, maximum if maximum is not None else online


def scan(task_dir: Path) -> dict[int, int]:
    """vCPU index -> thread id, from the thread names under ``task_dir``."""
    tids = {}
    for entry in os.listdir(task_dir):
        try:
            comm = read_file(f"{task_dir}/{entry}/comm").decode(errors="replace")
        except OSError:
            continue  # exited while we looked
        match = _VCPU_COMM.match(comm)
        if match:
            tids[int(match.group(1))] = int(entry)
    return tids


def _optional(thread: str, name: str) -> bytes | None:
    """A file the kernel may not have (config-dependent); OSError if the thread is gone."""
    try:
        return read_file(f"{thread}/{name}")
    except FileNotFoundError:
        if not os.path.exists(thread + "/stat"):
            raise
        return None


def _thread_time(thread: str) -> int:
    fields = read_file(thread + "/stat").rpartition(b")")[2].split()
    return (int(fields[_UTIME]) + int(fields[_STIME])) * NS_PER_TICK


def _thread_delay(thread: str) -> int:
    """Run-queue delay in ns; 0 without CONFIG_SCHED_INFO, as libvirt reports it."""
    text = _optional(thread, "schedstat")
    return int(text.split()[1]) if text is not None else 0


def _thread_wait(thread: str) -> int | None:
    """``wait_sum`` in ns, or None where the kernel keeps no scheduler statistics."""
    text = _optional(thread, "sched")
    for line in (text or b"").split(b"\n"):
        if line.startswith((b"se.statistics.wait_sum", b"se.wait_sum")):
            return int(float(line.partition(b":")[2]) * NS_PER_MS)
    return None


class VcpuThreads:
    """The vCPU threads of one running QEMU process."""

    def __init__(self, task_dir: Path, maximum: int) -> None:
        self.task_dir = task_dir
        self.maximum = maximum
        self._threads: dict[int, str] = {}  # vCPU index -> its /proc/<pid>/task/<tid>
        self._tasks = -1
        self._wait = True  # until a thread shows the kernel has no wait_sum

    def read(self) -> VcpuStats:
        """The vcpu group's keys libvirt reads from /proc; OSError if the process is gone.

        Threads are looked up again when the process's thread count changes
        (a vCPU plugged or unplugged) or one of them vanished.
        """
        tasks = len(os.listdir(self.task_dir))
        if tasks != self._tasks:
            self._rescan(tasks)
        try:
            return self._read()
        except (OSError, IndexError, ValueError):
            self._rescan(len(os.listdir(self.task_dir)))
            return self._read()

    def _rescan(self, tasks: int) -> None:
        base = str(self.task_dir)
        self._threads = {index: f"{base}/{tid}" for index, tid in scan(self.task_dir).items()}
        self._tasks = tasks

    def _read(self) -> VcpuStats:
        if not self._threads:
            raise OSError(f"no vCPU threads under {self.task_dir}")
        stats = {"vcpu.current": len(self._threads), "vcpu.maximum": self.maximum}
        for index, thread in self._threads.items():
            prefix = f"vcpu.{index}."
            stats[prefix + "state"] = 1  # VIR_VCPU_RUNNING, as libvirt reports online vCPUs
            stats[prefix + "time"] = _thread_time(thread)
            stats[prefix + "delay"] = _thread_delay(thread)
            wait = _thread_wait(thread) if self._wait else None
            if wait is None:
                self._wait = False
            stats[prefix + "wait"] = wait or 0
        return stats
