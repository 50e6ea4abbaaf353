"""Domain CPU time read from the domain's cgroup, where libvirt itself reads it.

libvirt's ``cpu`` stats group reports ``cpu.time``, ``cpu.user`` and
``cpu.system`` from the cgroup it made for the domain (the parent of the
``emulator`` and ``vcpuN`` groups), but since libvirt 9.0 the same group also
asks every QEMU for halt-polling statistics over QMP, a round trip into each
VM per collection. Reading the cgroup files here gives the same three values
at no cost to libvirtd or QEMU, so the ``cpu`` group itself can be asked for
less often.

Only the cgroup hierarchies libvirt uses are read: v1 ``cpuacct`` where the
QEMU process sits in a libvirt ``emulator`` group there, else the v2
(unified) hierarchy. ``host_cpu.HostCpuTime`` finds the process.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

EMULATOR = "emulator"
NS_PER_USEC = 1000
NS_PER_TICK = 1_000_000_000 // os.sysconf("SC_CLK_TCK")

CpuTimes = dict[str, int]


@dataclasses.dataclass(frozen=True, slots=True)
class CgroupMounts:
    """Where the cgroup v2 hierarchy and the v1 cpuacct controller are mounted."""

    unified: tuple[Path, str] | None = None  # (mount point, root within the hierarchy)
    cpuacct: tuple[Path, str] | None = None

    @classmethod
    def parse(cls, mountinfo: str) -> CgroupMounts:
        """From the text of /proc/self/mountinfo."""
        unified = cpuacct = None
        for line in mountinfo.splitlines():
            fields = line.split()
            if "-" not in fields:
                continue
            sep = fields.index("-")
            if len(fields) < sep + 4 or sep < 5:
                continue
            root, point = _unescape(fields[3]), Path(_unescape(fields[4]))
            fstype, options = fields[sep + 1], fields[sep + 3].split(",")
            if fstype == "cgroup2" and unified is None:
                unified = (point, root)
            elif fstype == "cgroup" and "cpuacct" in options and cpuacct is None:
                cpuacct = (point, root)
        return cls(unified, cpuacct)


def _unescape(field: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal."""
    for code in ("\\040", "\\011", "\\012", "\\134"):
        field = field.replace(code, chr(int(code[1:], 8)))
    return field


def _under(mount: tuple[Path, str], path: str) -> Path | None:
    """The directory of cgroup ``path`` (as /proc/<pid>/cgroup names it) under ``mount``."""
    point, root = mount
    if root != "/":
        if path != root and not path.startswith(root.rstrip("/") + "/"):
            return None
        path = path[len(root.rstrip("/")):]
    return point / path.lstrip("/")


def read_file(path: str) -> bytes:
    """A small /proc or /sys file, with as few system calls and objects as possible."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.read(fd, 65536)
    finally:
        os.close(fd)


@dataclasses.dataclass(frozen=True, slots=True)
class CpuFiles:
    """The files that hold one domain's CPU time."""

    version: int  # 1 (cpuacct.usage + cpuacct.stat) or 2 (cpu.stat)
    directory: Path

    def read(self) -> CpuTimes:
        """``cpu.time``, ``cpu.user`` and ``cpu.system`` in nanoseconds, as libvirt names them."""
        base = str(self.directory)
        if self.version == 2:
            fields = _pairs(read_file(base + "/cpu.stat"))
            return {"cpu.time": fields[b"usage_usec"] * NS_PER_USEC,
                    "cpu.user": fields[b"user_usec"] * NS_PER_USEC,
                    "cpu.system": fields[b"system_usec"] * NS_PER_USEC}
        usage = int(read_file(base + "/cpuacct.usage"))
        fields = _pairs(read_file(base + "/cpuacct.stat"))
        return {"cpu.time": usage,
                "cpu.user": fields[b"user"] * NS_PER_TICK,
                "cpu.system": fields[b"system"] * NS_PER_TICK}


def _pairs(text: bytes) -> dict[bytes, int]:
    """``key value`` lines; lines whose value is not a number are left out."""
    out = {}
    for line in text.split(b"\n"):
        key, _, value = line.partition(b" ")
        if value.isdigit():
            out[key] = int(value)
    return out


def locate(cgroup_text: str, mounts: CgroupMounts) -> CpuFiles | None:
    """The domain's CPU files from the QEMU process's /proc/<pid>/cgroup text.

    libvirt puts QEMU's main thread in ``<domain group>/emulator``; the domain
    group (what libvirt reads) is its parent. v1 cpuacct wins when QEMU sits
    in a libvirt group there, as it does in libvirt.
    """
    v1 = v2 = None
    for line in cgroup_text.splitlines():
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if not path.endswith("/" + EMULATOR):
            continue
        parent = path[: -len(EMULATOR) - 1] or "/"
        if hierarchy == "0" and controllers == "":
            v2 = parent
        elif "cpuacct" in controllers.split(","):
            v1 = parent
    if v1 is not None and mounts.cpuacct is not None:
        directory = _under(mounts.cpuacct, v1)
        if directory is not None and (directory / "cpuacct.usage").exists():
            return CpuFiles(1, directory)
    if v2 is not None and mounts.unified is not None:
        directory = _under(mounts.unified, v2)
        if directory is not None and (directory / "cpu.stat").exists():
            return CpuFiles(2, directory)
    return None
