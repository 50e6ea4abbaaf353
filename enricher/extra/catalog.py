"""The selectors by name: what ``[DEFAULT] extra_stats`` accepts and how each is built.

One table, in the order of the virt plugin's documentation; the families a
selector exports are in ``enricher.exporters.catalog`` (their ``selectors``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence

from enricher.extra import (
    cpu_util,
    dirtyrate,
    disk_err,
    domain_state,
    fs_info,
    job_stats,
    memory,
    pcpu,
    perf,
    vcpupin,
)
from enricher.extra.base import Selector


class CoreGroup(Selector):
    """A virt plugin selector whose data the core families export: only adds a group."""

    def __init__(self, name: str, group: str) -> None:
        self.name = name
        self.groups = (group,)


@dataclasses.dataclass(frozen=True, slots=True)
class Entry:
    """One selector: its name, what it does, and how to build it."""

    name: str
    description: str
    # Called with [DEFAULT] extra_stats_dirtyrate_period; None: a CoreGroup of ``group``.
    make: Callable[[int], Selector] | None = None
    group: str = ""

    def build(self, dirtyrate_period: int) -> Selector:
        if self.make is None:
            return CoreGroup(self.name, self.group)
        return self.make(dirtyrate_period)


def _plain(cls: Callable[[], Selector]) -> Callable[[int], Selector]:
    return lambda _period: cls()


def _core(name: str, group: str, what: str) -> Entry:
    """A virt plugin selector accepted for collectd configurations: only adds ``group``."""
    return Entry(name, "Accepted for collectd configurations: " + what, group=group)


SELECTORS = (
    Entry("cpu_util", "CPU utilisation from two consecutive samples, as a ratio of the "
                      "domain's vCPUs and of one host CPU.", _plain(cpu_util.CpuUtil)),
    Entry("disk_err", "Error code of each disk that has one (virDomainGetDiskErrors).",
          _plain(disk_err.DiskErrors)),
    Entry("domain_state", "State and reason as readable labels, with the virt plugin's "
                          "severity.", _plain(domain_state.DomainState)),
    Entry("fs_info", "Guest file systems through the guest agent (virDomainGetFSInfo; "
                     "needs [libvirt] read_only = false).", _plain(fs_info.FsInfo)),
    Entry("job_stats_background", "Progress of the job running on the domain (migration, "
                                  "dump, save, ...).",
          lambda _period: job_stats.JobStats(completed=False)),
    Entry("job_stats_completed", "Statistics of the domain's last completed job.",
          lambda _period: job_stats.JobStats(completed=True)),
    Entry("perf", "Enabled perf events, and the perf stats group in the bulk call.",
          _plain(perf.Perf)),
    Entry("vcpupin", "vCPU to host CPU pinning, one series per (vcpu, cpu).",
          _plain(vcpupin.VcpuPin)),
    Entry("pcpu", "Domain CPU time per host CPU (cgroup v1 hosts), and the cpu stats "
                  "group.", _plain(pcpu.Pcpu)),
    Entry("memory", "Every balloon statistic and, with resctrl, memory bandwidth.",
          _plain(memory.Memory)),
    Entry("dirtyrate", "Memory dirty rate, where libvirt and QEMU measure it.",
          dirtyrate.DirtyRate),
    # The virt plugin's other selectors: the core families already export them.
    _core("disk", "block", "block read, write and flush times are core families; makes "
                           "sure the block group is collected."),
    *(_core(f"disk_{size}", "block", f"see libvirt_domain_block_{size}_bytes (block group).")
      for size in ("allocation", "capacity", "physical")),
    _core("vcpu", "vcpu", "per-vCPU time is a core family; makes sure the vcpu group is "
                          "collected."),
)
_BY_NAME = {entry.name: entry for entry in SELECTORS}
NAMES = tuple(_BY_NAME)
# (name, description), as oslo.config's choices want them.
CHOICES = tuple((entry.name, entry.description) for entry in SELECTORS)


def build(names: Iterable[str], dirtyrate_period: int = 0) -> list[Selector]:
    """Fresh selector instances for ``names`` (duplicates ignored), in table order."""
    wanted = set(names)
    unknown = wanted.difference(_BY_NAME)
    if unknown:
        raise ValueError("unknown extra_stats selectors: %s" % ", ".join(sorted(unknown)))
    return [entry.build(dirtyrate_period) for entry in SELECTORS if entry.name in wanted]


def stats_groups(configured: Sequence[str], selectors: Iterable[Selector]) -> list[str]:
    """The bulk stats groups to ask for: ``configured`` plus what the selectors rely on."""
    groups = list(configured)
    for selector in selectors:
        groups += [g for g in selector.groups if g not in groups]
    return groups
