"""The machine a benchmark ran on, as comment lines above its tables."""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from tests.perf import goexporter, targets


def _version(number: int) -> str:
    return f"{number // 1000000}.{number // 1000 % 1000}.{number % 1000}"


def _os() -> str:
    try:
        fields = dict(line.split("=", 1) for line in
                      Path("/etc/os-release").read_text().splitlines() if "=" in line)
        return fields.get("PRETTY_NAME", "").strip('"')
    except OSError:
        return platform.platform()


def _mem_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def header(conn: object | None, domain_type: str, mode: str,
           args: Mapping[str, object]) -> str:
    """``# key: value`` lines: date, command, OS, CPUs, memory, libvirt, QEMU, Go exporter."""
    lines = [
        f"date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}",
        "command: python -m tests.perf.bench " + " ".join(sys.argv[1:]),
        f"machine: {_os()}, {os.cpu_count()} CPUs ({_cpu_model()}), {_mem_gib():.0f} GiB, "
        f"kernel {platform.release()}",
    ]
    if conn is not None:
        lines.append(f"libvirt {_version(conn.getLibVersion())}, "  # type: ignore[attr-defined]
                     f"{conn.getType()} {_version(conn.getVersion())}, "  # type: ignore[attr-defined]
                     f"domain type {domain_type}")
    lines.append(f"enricher source: {targets.source_version()} (copied now; "
                 f"python {platform.python_version()})")
    if mode == "real":
        lines.append(f"go exporter: {goexporter.PACKAGE} {goexporter.version() or '?'}")
    lines.append(f"mode: {mode} " + " ".join(f"{k}={v}" for k, v in sorted(args.items())
                                               if k != "func"))
    return "\n".join("# " + line for line in lines)
