"""Cost of one bulk stats call per stats group, on the benchmark guests only."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import libvirt

from enricher.libvirt.host_cpu import HostCpuTime
from tests.perf import block_stats_call, cpu, report

# Name -> VIR_DOMAIN_STATS_* constant; ones this libvirt-python lacks are skipped.
GROUPS = (
    ("state", "STATE"), ("cpu", "CPU_TOTAL"), ("balloon", "BALLOON"), ("vcpu", "VCPU"),
    ("interface", "INTERFACE"), ("block", "BLOCK"), ("perf", "PERF"),
    ("iothread", "IOTHREAD"), ("memory", "MEMORY"), ("dirtyrate", "DIRTYRATE"),
    ("vm", "VM"),
)
# The enricher's default [libvirt] stats_groups.
ENRICHER_DEFAULT = ("state", "cpu", "balloon", "vcpu", "interface", "block", "perf")
# Smaller sets a configuration could choose, for comparison.
COMBOS = (
    ("state+interface+block", ("state", "interface", "block")),
    # What the enricher's bulk call asks with its defaults when CPU and vCPU
    # times are read on the host: three collections in four, and every 4th.
    ("enricher-fast", ("state", "interface", "block", "perf")),
    ("enricher-slow", ("state", "balloon", "interface", "block", "perf")),
    ("state+cpu+interface+block", ("state", "cpu", "interface", "block")),
    ("default-vcpu", ("state", "cpu", "balloon", "interface", "block", "perf")),
)
NOWAIT = getattr(libvirt, "VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT", 0)


def flag(names: Iterable[str]) -> int:
    consts = dict(GROUPS)
    out = 0
    for name in names:
        out |= getattr(libvirt, "VIR_DOMAIN_STATS_" + consts[name], 0)
    return out


def variants() -> list[tuple[str, int]]:
    """(label, stats flags): each group, a few sets, the enricher default, all groups."""
    out = [(name, flag([name])) for name, _ in GROUPS if flag([name])]
    out += [(label, flag(names)) for label, names in COMBOS]
    out.append(("enricher-default", flag(ENRICHER_DEFAULT)))
    out.append(("all (flags 0)", 0))
    return out


@dataclasses.dataclass
class GroupCost:
    """Per call medians: wall, client CPU, libvirtd and QEMU main CPU (net of idle)."""

    label: str
    wall_ms: list[float] = dataclasses.field(default_factory=list)
    client_ms: list[float] = dataclasses.field(default_factory=list)
    libvirtd_ms: list[float] = dataclasses.field(default_factory=list)
    qemu_ms: list[float] = dataclasses.field(default_factory=list)
    keys_per_vm: float = 0.0


def per_domain_paths(doms: Sequence[libvirt.virDomain], pid_dir: Path | None
                     ) -> list[tuple[str, Callable[[], Any]]]:
    """Alternatives to some groups, over the same guests (one call per guest).

    Reading CPU time from the guests' cgroups and vCPU times from their
    threads is what the enricher does instead of the cpu and vcpu groups
    ([libvirt] cpu_time_from_cgroup, vcpu_times_from_proc). The per-domain
    block calls are measured to show why it keeps the block group:
    virDomainBlockStats has no times or flush counters, libvirt-python's
    blockStatsFlags makes two calls (and two QMP round trips) per disk, one to
    count the fields, and even one call per disk (the ctypes probe) costs the
    calling process and libvirtd one RPC per guest.
    """
    out: list[tuple[str, Callable[[], Any]]] = [
        ("blockStats per domain", lambda: [{"block": d.blockStats("vda")} for d in doms]),
        ("blockStatsFlags per domain",
         lambda: [d.blockStatsFlags("vda", 0) for d in doms])]
    if block_stats_call.available():
        out.append(("one-call blockStatsFlags per domain",
                    lambda: [block_stats_call.block_stats(d, "vda") for d in doms]))
    if pid_dir is not None:
        cgroup = HostCpuTime(pid_dir, vcpus=False)
        out.append(("cgroup CPU time read",
                    lambda: [cgroup.read(d.UUIDString(), d.name(), d.ID()).cpu for d in doms]))
        threads = HostCpuTime(pid_dir, cpu=False)
        out.append(("/proc vCPU times read",
                    lambda: [threads.read(d.UUIDString(), d.name(), d.ID()).vcpus
                             for d in doms]))
    return out


def _keys_per_vm(result: Any) -> float:
    if not result:
        return 0.0
    rows = [r[1] if isinstance(r, tuple) else r for r in result]
    return sum(len(r or {}) for r in rows) / len(rows)


def measure(conn: libvirt.virConnect, doms: Sequence[libvirt.virDomain],
            daemon_pids: Callable[[], Iterable[int]], qemu_pids: Callable[[], Iterable[int]],
            idle: dict[str, float], calls: int = 5, reps: int = 3,
            pid_dir: Path | None = None) -> list[GroupCost]:
    """``reps`` interleaved passes over the variants, ``calls`` bulk calls each.

    QEMU is counted without its vCPU threads (the guests' own, noisy, CPU
    use; a stats query runs in QEMU's main loop). ``idle`` holds the baseline
    cores of "libvirtd", "qemu" and "qemu_vcpu", subtracted per second of
    each batch.
    """
    meter = cpu.CpuMeter({"libvirtd": daemon_pids, "qemu": qemu_pids,
                          "qemu_vcpu": qemu_pids})
    idle = dict(idle, qemu_main=idle.get("qemu", 0.0) - idle.get("qemu_vcpu", 0.0))
    todo: list[tuple[str, Callable[[], Any]]] = [
        (label, lambda s=stats: conn.domainListGetStats(list(doms), s, NOWAIT))
        for label, stats in variants()]
    todo += per_domain_paths(doms, pid_dir)
    costs = {label: GroupCost(label) for label, _ in todo}
    for _ in range(reps):
        for label, call in todo:
            cost = costs[label]
            walls = []
            records: Any = []
            start = meter.read()
            client0 = time.process_time()
            for _ in range(calls):
                t0 = time.monotonic()
                records = call()
                walls.append(time.monotonic() - t0)
            client1 = time.process_time()
            end = meter.read()
            used = meter.delta(start, end)
            used["qemu_main"] = used["qemu"] - used["qemu_vcpu"]
            elapsed = end.at - start.at
            cost.wall_ms.append(report.median(walls) * 1000)
            cost.client_ms.append((client1 - client0) / calls * 1000)
            for role, target in (("libvirtd", cost.libvirtd_ms), ("qemu_main", cost.qemu_ms)):
                target.append((used[role] - idle.get(role, 0.0) * elapsed) / calls * 1000)
            cost.keys_per_vm = _keys_per_vm(records)
    return list(costs.values())


def table(costs: Sequence[GroupCost], vms: int, title: str) -> str:
    f = report.fmt
    rows = [[c.label.replace(" ", "_"), f(report.median(c.wall_ms)),
             f(report.median(c.client_ms), 2), f(report.median(c.libvirtd_ms)),
             f(report.median(c.qemu_ms)), f(c.keys_per_vm)] for c in costs]
    return report.table(("group", "wall_ms", "client_cpu_ms", "libvirtd_cpu_ms",
                         "qemu_main_cpu_ms", "keys/VM"), rows, f"{title} ({vms} guests)")
