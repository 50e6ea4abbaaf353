"""Running domains' CPU and vCPU times read on the host, from the files libvirt reads.

For each running domain the QEMU process is found from libvirt's pid file
and checked against the domain UUID on its command line (a reused pid is
never trusted), once per domain start. Then, on every collection, its total,
user and system CPU time come from its cgroup (``cgroup.py``) and its
per-vCPU time, delay and wait from its vCPU threads (``vcpu_threads.py``):
what libvirt's ``cpu`` and ``vcpu`` stats groups report, without the QMP
round trips into every QEMU that those groups also make. Anything that
cannot be read here (no pid file, no cgroups, a remote libvirtd) yields None
and the caller asks libvirt instead.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from enricher.libvirt.cgroup import CgroupMounts, CpuFiles, CpuTimes, locate
from enricher.libvirt.vcpu_threads import VcpuStats, VcpuThreads, smp_counts

LOG = logging.getLogger(__name__)

DEFAULT_PID_DIR = Path("/run/libvirt/qemu")

_FALLBACK = {
    "cpu": "CPU time of domain %s comes from libvirt's cpu stats group",
    "vcpu": "vCPU times of domain %s come from libvirt's vcpu stats group",
}
_REMEDY = {
    "cpu": ("cpu_time_from_cgroup", "enricher_domains_cpu_time_from_cgroup"),
    "vcpu": ("vcpu_times_from_proc", "enricher_domains_vcpu_times_from_proc"),
}


@dataclasses.dataclass(frozen=True, slots=True)
class HostTimes:
    """What could be read for one running domain; None means "ask libvirt"."""

    cpu: CpuTimes | None = None
    vcpus: VcpuStats | None = None


@dataclasses.dataclass(slots=True)
class _Process:
    """What was located for one start of a domain (its libvirt id)."""

    dom_id: int
    files: CpuFiles | None
    threads: VcpuThreads | None


class HostCpuTime:
    """Per-domain CPU time from cgroups and vCPU times from /proc.

    ``cpu`` and ``vcpus`` choose what is read. The first domain whose figures
    cannot be read is logged at INFO with what to check, the others at DEBUG
    (a container without the mounts would log every domain).
    """

    def __init__(self, pid_dir: Path = DEFAULT_PID_DIR, proc: Path = Path("/proc"),
                 mounts: CgroupMounts | None = None, cpu: bool = True,
                 vcpus: bool = True) -> None:
        self._pid_dir = Path(pid_dir)
        self._proc = Path(proc)
        if mounts is None and cpu:
            try:
                mounts = CgroupMounts.parse((self._proc / "self" / "mountinfo").read_text())
            except OSError:
                mounts = CgroupMounts()
        self._mounts = mounts or CgroupMounts()
        self.cpu = cpu
        self.vcpus = vcpus
        self._located: dict[str, _Process] = {}
        self._told: set[str] = set()

    @property
    def mounts(self) -> CgroupMounts:
        return self._mounts

    def read(self, uuid: str, name: str, dom_id: int) -> HostTimes:
        """The running domain's figures that could be read here."""
        known = self._located.get(uuid)
        if known is None or known.dom_id != dom_id:
            known = self._locate(uuid, name, dom_id)
            self._located[uuid] = known
        cpu = vcpus = None
        if known.files is not None:
            try:
                cpu = known.files.read()
            except (OSError, KeyError, ValueError) as exc:
                # Stopped since (its cgroup is gone), or an unexpected file.
                self._fallback("cpu", name, f"cannot read {known.files.directory}: {exc}")
                known.files = None
        if known.threads is not None:
            try:
                vcpus = known.threads.read()
            except (OSError, IndexError, ValueError) as exc:
                self._fallback("vcpu", name, f"cannot read {known.threads.task_dir}: {exc}")
                known.threads = None
        return HostTimes(cpu, vcpus)

    def forget(self, keep: set[str]) -> None:
        """Drop what was located for domains not in ``keep``."""
        for uuid in [u for u in self._located if u not in keep]:
            del self._located[uuid]

    def _fallback(self, group: str, name: str, why: str) -> None:
        what = _FALLBACK[group]
        if group in self._told:
            LOG.debug(what + ": %s", name, why)
            return
        self._told.add(group)
        LOG.info(what + ": %s (check [libvirt] qemu_pid_dir and that /proc and "
                 "/sys/fs/cgroup are the host's, or set [libvirt] %s = false; further "
                 "domains are logged at DEBUG; %s counts the others)",
                 name, why, *_REMEDY[group])

    def _locate(self, uuid: str, name: str, dom_id: int) -> _Process:
        process = _Process(dom_id, None, None)
        pid_file = self._pid_dir / f"{name}.pid"
        try:
            pid = int(pid_file.read_text().strip())
            args = (self._proc / str(pid) / "cmdline").read_bytes().split(b"\0")
            cgroups = (self._proc / str(pid) / "cgroup").read_text() if self.cpu else ""
        except (OSError, ValueError) as exc:
            why = f"cannot read its QEMU pid or process ({exc})"
            self._fallback_all(name, why)
            return process
        if uuid.encode() not in args:
            self._fallback_all(name, f"process {pid} from {pid_file} is not this domain's QEMU")
            return process
        if self.cpu:
            process.files = locate(cgroups, self._mounts)
            if process.files is None:
                self._fallback("cpu", name, f"QEMU process {pid} is not in a libvirt "
                                            "cgroup that can be read here")
        if self.vcpus:
            counts = smp_counts(args)
            if counts is None:
                self._fallback("vcpu", name, f"no -smp argument on QEMU process {pid}")
            else:
                process.threads = VcpuThreads(self._proc / str(pid) / "task", counts[1])
        return process

    def _fallback_all(self, name: str, why: str) -> None:
        for group, wanted in (("cpu", self.cpu), ("vcpu", self.vcpus)):
            if wanted:
                self._fallback(group, name, why)
