"""The selectors by name: what ``[DEFAULT] extra_stats`` accepts and what each exports."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

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
from enricher.extra.base import ExtraFamily, Selector

# (name, description) in the order of the virt plugin's documentation.
CHOICES = (
    ("cpu_util", "CPU utilisation from two consecutive samples, as a ratio of the "
                 "domain's vCPUs and of one host CPU."),
    ("disk_err", "Error code of each disk that has one (virDomainGetDiskErrors)."),
    ("domain_state", "State and reason as readable labels, with the virt plugin's "
                     "severity."),
    ("fs_info", "Guest file systems through the guest agent (virDomainGetFSInfo; needs "
                "[libvirt] read_only = false)."),
    ("job_stats_background", "Progress of the job running on the domain (migration, "
                             "dump, save, ...)."),
    ("job_stats_completed", "Statistics of the domain's last completed job."),
    ("perf", "Enabled perf events, and the perf stats group in the bulk call."),
    ("vcpupin", "vCPU to host CPU pinning, one series per (vcpu, cpu)."),
    ("pcpu", "Domain CPU time per host CPU (cgroup v1 hosts), and the cpu stats group."),
    ("memory", "Every balloon statistic and, with resctrl, memory bandwidth."),
    ("dirtyrate", "Memory dirty rate, where libvirt and QEMU measure it."),
    # The virt plugin's other selectors: the core families already export them.
    ("disk", "Accepted for collectd configurations: block read, write and flush times "
             "are core families; makes sure the block group is collected."),
    ("disk_allocation", "Accepted for collectd configurations: see "
                        "libvirt_domain_block_allocation_bytes (block group)."),
    ("disk_capacity", "Accepted for collectd configurations: see "
                      "libvirt_domain_block_capacity_bytes (block group)."),
    ("disk_physical", "Accepted for collectd configurations: see "
                      "libvirt_domain_block_physical_bytes (block group)."),
    ("vcpu", "Accepted for collectd configurations: per-vCPU time is a core family; "
             "makes sure the vcpu group is collected."),
)
NAMES = tuple(name for name, _ in CHOICES)


class CoreGroup(Selector):
    """A virt plugin selector whose data the core families export: only adds a group."""

    def __init__(self, name: str, group: str) -> None:
        self.name = name
        self.groups = (group,)


def build(names: Iterable[str], dirtyrate_period: int = 0) -> list[Selector]:
    """Fresh selector instances for ``names`` (duplicates ignored), in catalog order."""
    wanted = set(names)
    unknown = wanted.difference(NAMES)
    if unknown:
        raise ValueError("unknown extra_stats selectors: %s" % ", ".join(sorted(unknown)))
    factories = {
        "cpu_util": cpu_util.CpuUtil,
        "disk_err": disk_err.DiskErrors,
        "domain_state": domain_state.DomainState,
        "fs_info": fs_info.FsInfo,
        "job_stats_background": lambda: job_stats.JobStats(completed=False),
        "job_stats_completed": lambda: job_stats.JobStats(completed=True),
        "perf": perf.Perf,
        "vcpupin": vcpupin.VcpuPin,
        "pcpu": pcpu.Pcpu,
        "memory": memory.Memory,
        "dirtyrate": lambda: dirtyrate.DirtyRate(dirtyrate_period),
        "disk": lambda: CoreGroup("disk", "block"),
        "disk_allocation": lambda: CoreGroup("disk_allocation", "block"),
        "disk_capacity": lambda: CoreGroup("disk_capacity", "block"),
        "disk_physical": lambda: CoreGroup("disk_physical", "block"),
        "vcpu": lambda: CoreGroup("vcpu", "vcpu"),
    }
    return [factories[name]() for name in NAMES if name in wanted]


def stats_groups(configured: Sequence[str], selectors: Iterable[Selector]) -> list[str]:
    """The bulk stats groups to ask for: ``configured`` plus what the selectors rely on."""
    groups = list(configured)
    for selector in selectors:
        groups += [g for g in selector.groups if g not in groups]
    return groups


def _families() -> tuple[ExtraFamily, ...]:
    seen: dict[str, ExtraFamily] = {}
    for module in (cpu_util, disk_err, domain_state, fs_info, job_stats, perf, vcpupin,
                   pcpu, memory, dirtyrate):
        for family in module.FAMILIES:
            seen.setdefault(family.name, family)
    return tuple(seen.values())


# Every family a selector can export, for the exposition and the docs.
FAMILIES = _families()
BY_NAME = {family.name: family for family in FAMILIES}
