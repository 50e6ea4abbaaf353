"""N tiny idle benchmark VMs (``enr-bench-*``) on the shared libvirtd, always cleaned up."""

from __future__ import annotations

import logging
import secrets
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree

import libvirt

from tests.e2e.harness import domains
from tests.e2e.harness.domains import E2EDomain
from tests.perf import cpu

LOG = logging.getLogger(__name__)

NAME_PREFIX = "enr-bench-"
# "ebn" + 6 hex run id + 3 digits: 12 characters, under IFNAMSIZ, unlike e2e taps.
TAP_PREFIX = "ebn"
QEMU_PID_DIR = domains.QEMU_RUN_DIR
NIC_MODEL = "<model type='virtio'/>"


def bench_xml(spec: E2EDomain, domain_type: str) -> str:
    """The e2e guest XML plus ``<rom enabled='no'/>`` on the NIC (no iPXE ROM)."""
    xml = domains.domain_xml(spec, domain_type)
    if xml.count(NIC_MODEL) != 1:
        raise AssertionError("unexpected e2e domain XML: cannot place the NIC rom element")
    xml = xml.replace(NIC_MODEL, NIC_MODEL + "\n      <rom enabled='no'/>")
    ElementTree.fromstring(xml)  # still well-formed
    return xml


def make_spec(run_id: str, index: int, workdir: Path) -> E2EDomain:
    """A guest spec named ``enr-bench-<run>-<index>`` with fresh Nova identities."""
    tag = f"{run_id}-{index:03d}"
    return E2EDomain(
        name=f"{NAME_PREFIX}{tag}", uuid=str(uuid.uuid4()), nova_version="1.1",
        project_id=uuid.uuid4().hex, project_name=f"bench-project-{index % 7}",
        user_id=uuid.uuid4().hex, user_name=f"bench-user-{index % 13}",
        flavor="bench.tiny", instance_name=f"bench-vm-{tag}",
        tap=f"{TAP_PREFIX}{run_id}{index:03d}", disk_path=workdir / f"{index:03d}.raw")


class BenchVMs:
    """Boots N transient guests and removes them (domains, taps, disks, logs)."""

    def __init__(self, conn: libvirt.virConnect, domain_type: str,
                 pid_dir: Path = QEMU_PID_DIR) -> None:
        self.conn = conn
        self.domain_type = domain_type
        self.pid_dir = pid_dir
        self.run_id = secrets.token_hex(3)
        self.workdir = domains.make_workdir(self.run_id, NAME_PREFIX)
        self.specs: list[E2EDomain] = []

    def boot(self, count: int) -> None:
        """Create the disks and start ``count`` guests."""
        for index in range(len(self.specs), len(self.specs) + count):
            spec = make_spec(self.run_id, index, self.workdir)
            self.specs.append(spec)
            with spec.disk_path.open("wb") as disk:
                disk.truncate(domains.DISK_BYTES)
            self.conn.createXML(bench_xml(spec, self.domain_type), 0)
        LOG.info("booted %d guests %s%s-*", count, NAME_PREFIX, self.run_id)

    def virdomains(self) -> list[libvirt.virDomain]:
        return [self.conn.lookupByUUIDString(s.uuid) for s in self.specs]

    def qemu_pids(self) -> list[int]:
        return [pid for pid in (domains.qemu_pid(s.name, self.pid_dir) for s in self.specs)
                if pid]

    def wait_idle(self, per_vm: float = 0.03, timeout: float = 120.0,
                  step: float = 2.0, sleep: Callable[[float], None] = time.sleep) -> float:
        """Wait until the guests' mean CPU use is below ``per_vm`` cores; return it."""
        meter = cpu.CpuMeter({"qemu": self.qemu_pids})
        deadline = time.monotonic() + timeout
        rate = float("inf")
        while time.monotonic() < deadline:
            start = meter.read()
            sleep(step)
            end = meter.read()
            rate = meter.delta(start, end)["qemu"] / (end.at - start.at) / max(1, len(self.specs))
            if rate <= per_vm:
                return rate
        LOG.warning("guests still use %.3f cores each after %.0f s", rate, timeout)
        return rate

    def cleanup(self) -> None:
        """Remove every guest we booted and the work directory; report all failures."""
        specs, self.specs = self.specs, []
        try:
            domains.remove_specs(self.conn, specs)
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)
