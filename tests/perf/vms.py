"""N tiny idle benchmark VMs (``enr-bench-*``) on the shared libvirtd, always cleaned up."""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree

import libvirt

from tests.e2e.harness import domains, procs
from tests.e2e.harness.domains import E2EDomain
from tests.perf import cpu

LOG = logging.getLogger(__name__)

NAME_PREFIX = "enr-bench-"
# "ebn" + 6 hex run id + 3 digits: 12 characters, under IFNAMSIZ, unlike e2e taps.
TAP_PREFIX = "ebn"
QEMU_PID_DIR = Path("/run/libvirt/qemu")
OWNER_FILE = "owner.pid"
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


def qemu_pid(name: str, pid_dir: Path = QEMU_PID_DIR) -> int | None:
    """PID of the QEMU process of domain ``name`` (from libvirt's pid file)."""
    pid = procs.read_pid_file(pid_dir / f"{name}.pid")
    return pid if pid and procs.pid_alive(pid) else None


def _disk_dir(dom: libvirt.virDomain) -> Path | None:
    root = ElementTree.fromstring(dom.XMLDesc(0))
    source = root.find("./devices/disk/source")
    return Path(source.get("file", "")).parent if source is not None else None


def _owner_alive(workdir: Path | None) -> bool:
    if workdir is None:
        return False
    pid = procs.read_pid_file(workdir / OWNER_FILE)
    return bool(pid and pid != os.getpid() and procs.pid_alive(pid)
                and (procs.pid_comm(pid) or "").startswith(("python", "pytest")))


def remove_leftovers(conn: libvirt.virConnect) -> list[str]:
    """Remove ``enr-bench-*`` guests whose benchmark process is gone."""
    removed = []
    for dom in conn.listAllDomains(0):
        if not dom.name().startswith(NAME_PREFIX):
            continue
        workdir = _disk_dir(dom)
        if _owner_alive(workdir):
            continue
        LOG.warning("removing leftover benchmark guest %s", dom.name())
        _remove(conn, dom.name(), dom.UUIDString(), _tap_of(dom))
        if workdir and workdir.name.startswith(NAME_PREFIX) and workdir.exists():
            shutil.rmtree(workdir, ignore_errors=True)
        removed.append(dom.name())
    return removed


def _tap_of(dom: libvirt.virDomain) -> str | None:
    target = ElementTree.fromstring(dom.XMLDesc(0)).find("./devices/interface/target")
    dev = target.get("dev", "") if target is not None else ""
    return dev if dev.startswith(TAP_PREFIX) else None


def _remove(conn: libvirt.virConnect, name: str, dom_uuid: str, tap: str | None) -> None:
    """Destroy (and undefine) our guest ``name`` if it is still ours, then its tap and log."""
    try:
        dom = conn.lookupByName(name)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
            raise
    else:
        if dom.UUIDString() == dom_uuid:
            domains.destroy_and_undefine(dom)
    (domains.QEMU_LOG_DIR / f"{name}.log").unlink(missing_ok=True)
    if tap:
        domains.delete_tap(tap)


class BenchVMs:
    """Boots N transient guests and removes them (domains, taps, disks, logs)."""

    def __init__(self, conn: libvirt.virConnect, domain_type: str,
                 pid_dir: Path = QEMU_PID_DIR) -> None:
        self.conn = conn
        self.domain_type = domain_type
        self.pid_dir = pid_dir
        self.run_id = secrets.token_hex(3)
        self.workdir = Path(tempfile.mkdtemp(prefix=f"{NAME_PREFIX}{self.run_id}-"))
        (self.workdir / OWNER_FILE).write_text(str(os.getpid()))
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
        return [pid for pid in (qemu_pid(s.name, self.pid_dir) for s in self.specs) if pid]

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
        failures = []
        for spec in self.specs:
            try:
                _remove(self.conn, spec.name, spec.uuid, spec.tap)
            except (libvirt.libvirtError, OSError) as exc:
                failures.append(f"{spec.name}: {exc}")
        shutil.rmtree(self.workdir, ignore_errors=True)
        self.specs = []
        if failures:
            raise RuntimeError("benchmark guest teardown failed: " + "; ".join(failures))
