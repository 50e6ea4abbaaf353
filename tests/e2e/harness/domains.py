"""Tiny firmware-only QEMU guests carrying Nova ``<nova:instance>`` metadata."""

from __future__ import annotations

import dataclasses
import fcntl
import logging
import os
import re
import secrets
import shutil
import struct
import subprocess
import tempfile
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from xml.etree import ElementTree
from xml.sax.saxutils import escape, quoteattr

import libvirt

from tests.e2e.harness import bootsector, procs

LOG = logging.getLogger(__name__)

NAME_PREFIX = "enr-e2e-"
# Taps are "enr" + 6 hex run id + VM suffix: 10 characters, under IFNAMSIZ.
TAP_RE = re.compile(r"^enr[0-9a-f]{6}[a-z]$")
# Any tap a harness guest may have (the benchmark's are "ebn" + run id + index).
GUEST_TAP_RE = re.compile(r"^(enr[0-9a-f]{6}[a-z]|ebn[0-9a-f]{6}[0-9]{3})$")
NOVA_NS = {
    "1.0": "http://openstack.org/xmlns/libvirt/nova/1.0",
    "1.1": "http://openstack.org/xmlns/libvirt/nova/1.1",
}
NOVA_PACKAGE = {"1.0": "21.2.4", "1.1": "32.1.0"}
DISK_BYTES = 16 * 1024 * 1024
MEMORY_MIB = 64
QEMU_LOG_DIR = Path("/var/log/libvirt/qemu")
QEMU_RUN_DIR = Path("/run/libvirt/qemu")
OWNER_FILE = "owner.pid"
# <linux/if_tun.h>
TUNSETIFF, TUNSETPERSIST = 0x400454CA, 0x400454CB
IFF_TAP, IFF_NO_PI = 0x0002, 0x1000


@dataclasses.dataclass(frozen=True)
class E2EDomain:
    """One test guest and the tenancy its Nova metadata claims."""

    name: str
    uuid: str
    nova_version: str
    project_id: str
    project_name: str
    user_id: str
    user_name: str
    flavor: str
    instance_name: str
    tap: str
    disk_path: Path

    @property
    def labels(self) -> dict[str, str]:
        """Labels every per-VM series of this guest must carry."""
        return {
            "domain": self.name,
            "uuid": self.uuid,
            "instance_uuid": self.uuid,
            "project_id": self.project_id,
            "project_name": self.project_name,
            "user_id": self.user_id,
            "user_name": self.user_name,
            "flavor": self.flavor,
        }


def make_spec(run_id: str, suffix: str, nova_version: str, workdir: Path, *,
              prefix: str = NAME_PREFIX, nic: bool = True) -> E2EDomain:
    """Return a guest spec named ``prefix<run>-<suffix>`` with fresh ids and names.

    Its disk is ``workdir/<suffix>.raw``; without ``nic`` it has no tap.
    """
    tag = f"{run_id}-{suffix}"
    return E2EDomain(
        name=f"{prefix}{tag}",
        uuid=str(uuid.uuid4()),
        nova_version=nova_version,
        project_id=uuid.uuid4().hex,
        project_name=f"e2e-project-{tag}",
        user_id=uuid.uuid4().hex,
        user_name=f"e2e-user-{tag}",
        flavor=f"e2e.tiny-{tag}",
        instance_name=f"e2e-vm-{tag}",
        tap=f"enr{run_id}{suffix}" if nic else "",
        disk_path=workdir / f"{suffix}.raw",
    )


def nova_metadata_xml(spec: E2EDomain) -> str:
    """Return a ``<nova:instance>`` block shaped like Nova writes it."""
    flavor_id = ' id="42"' if spec.nova_version == "1.1" else ""
    return f"""\
    <nova:instance xmlns:nova="{NOVA_NS[spec.nova_version]}">
      <nova:package version="{NOVA_PACKAGE[spec.nova_version]}"/>
      <nova:name>{escape(spec.instance_name)}</nova:name>
      <nova:creationTime>2025-11-04 09:12:45</nova:creationTime>
      <nova:flavor name={quoteattr(spec.flavor)}{flavor_id}>
        <nova:memory>{MEMORY_MIB}</nova:memory>
        <nova:disk>0</nova:disk>
        <nova:swap>0</nova:swap>
        <nova:ephemeral>0</nova:ephemeral>
        <nova:vcpus>1</nova:vcpus>
      </nova:flavor>
      <nova:owner>
        <nova:user uuid={quoteattr(spec.user_id)}>{escape(spec.user_name)}</nova:user>
        <nova:project uuid={quoteattr(spec.project_id)}>{escape(spec.project_name)}</nova:project>
      </nova:owner>
      <nova:root type="image" uuid="949a9b65-d770-4586-b1ae-487414c692ee"/>
    </nova:instance>"""


def guest_xml(spec: E2EDomain, domain_type: str, *, memory_mib: int = MEMORY_MIB,
              nic: bool = True, balloon: bool = True, cputune: str = "",
              error_policy: str = "", devices: str = "") -> str:
    """The libvirt XML of a 1-vCPU test guest with Nova metadata and one virtio disk.

    It boots ``spec.disk_path`` or, with nothing bootable there, idles in
    SeaBIOS. ``nic`` adds an ethernet NIC on ``spec.tap``; ``balloon`` a
    virtio balloon with statistics every 2 s; ``cputune``, the disk's
    ``error_policy`` and ``devices`` are put in as given.
    """
    policy = " error_policy=%s" % quoteattr(error_policy) if error_policy else ""
    interface = f"""
    <interface type='ethernet'>
      <target dev={quoteattr(spec.tap)} managed='yes'/>
      <model type='virtio'/>
    </interface>""" if nic else ""
    memballoon = """
    <memballoon model='virtio'>
      <stats period='2'/>
    </memballoon>""" if balloon else ""
    tune = f"\n  <cputune>\n    {cputune}\n  </cputune>" if cputune else ""
    return f"""\
<domain type={quoteattr(domain_type)}>
  <name>{escape(spec.name)}</name>
  <uuid>{spec.uuid}</uuid>
  <metadata>
{nova_metadata_xml(spec)}
  </metadata>
  <memory unit='MiB'>{memory_mib}</memory>
  <currentMemory unit='MiB'>{memory_mib}</currentMemory>
  <vcpu placement='static'>1</vcpu>{tune}
  <os>
    <type arch='x86_64'>hvm</type>
    <boot dev='hd'/>
    <bios rebootTimeout='-1'/>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'{policy}/>
      <source file={quoteattr(str(spec.disk_path))}/>
      <target dev='vda' bus='virtio'/>
    </disk>{interface}{memballoon}
    {devices}
  </devices>
</domain>
"""


def domain_xml(spec: E2EDomain, domain_type: str) -> str:
    """The shared e2e guest: 64 MiB, a tap NIC, balloon statistics, idling in SeaBIOS."""
    return guest_xml(spec, domain_type)


def small_xml(spec: E2EDomain, domain_type: str, devices: str = "",
              error_policy: str = "") -> str:
    """A 32 MiB guest booting ``spec.disk_path``, without a NIC or balloon."""
    return guest_xml(spec, domain_type, memory_mib=32, nic=False, balloon=False,
                     error_policy=error_policy, devices=devices)


def start(conn: libvirt.virConnect, xml: str, *, transient: bool = False
          ) -> libvirt.virDomain:
    """Start a guest from its XML: transient, or defined first (persistent)."""
    if transient:
        dom = conn.createXML(xml, 0)
    else:
        dom = conn.defineXML(xml)
        dom.create()
    LOG.info("started %s", dom.name())
    return dom


def boot_code(conn: libvirt.virConnect, spec: E2EDomain, domain_type: str, code: bytes,
              cpuset: str = "0") -> libvirt.virDomain:
    """Start a transient 64 MiB guest without a NIC, its vCPU pinned to ``cpuset``,
    booting a disk whose boot sector runs ``code``."""
    bootsector.write_image(spec.disk_path, code, DISK_BYTES)
    return start(conn, guest_xml(spec, domain_type, nic=False,
                                 cputune="<vcpupin vcpu='0' cpuset=%s/>" % quoteattr(cpuset)),
                 transient=True)


def boot(conn: libvirt.virConnect, spec: E2EDomain, domain_type: str) -> None:
    """Create a blank disk file, define the shared e2e guest and start it."""
    with spec.disk_path.open("wb") as disk:
        disk.truncate(DISK_BYTES)
    start(conn, domain_xml(spec, domain_type))


def tap_exists(name: str) -> bool:
    """True if a network interface called ``name`` exists."""
    return Path("/sys/class/net", name).exists()


def _unpersist_tap(name: str) -> None:
    """Delete a persistent tap through /dev/net/tun (for hosts without iproute2)."""
    ifreq = struct.pack("16sH22x", name.encode(), IFF_TAP | IFF_NO_PI)
    with open("/dev/net/tun", "rb", buffering=0) as tun:
        fcntl.ioctl(tun, TUNSETIFF, ifreq)
        fcntl.ioctl(tun, TUNSETPERSIST, 0)


def delete_tap(name: str) -> None:
    """Remove a lingering tap with ``ip link del`` (or the TUN ioctls without ``ip``)."""
    if not name or not tap_exists(name):
        return
    LOG.warning("tap %s lingers after its domain; deleting it", name)
    ip = shutil.which("ip") or shutil.which("ip", path="/usr/sbin:/sbin")
    if ip:
        subprocess.run([ip, "link", "del", name], check=True, capture_output=True)
    else:
        _unpersist_tap(name)


def _disk_dirs(dom: libvirt.virDomain, prefix: str = NAME_PREFIX) -> set[Path]:
    """Return the harness-made work directories (see make_workdir) holding ``dom``'s disks."""
    root = ElementTree.fromstring(dom.XMLDesc(0))
    tmp = Path(tempfile.gettempdir())
    dirs = set()
    for source in root.iterfind("./devices/disk/source"):
        path = Path(source.get("file", ""))
        for parent in path.parents:
            if parent.parent == tmp and parent.name.startswith(prefix):
                dirs.add(parent)
    return dirs


def _taps(dom: libvirt.virDomain) -> set[str]:
    """Return the tap names of ``dom``'s ethernet interfaces."""
    root = ElementTree.fromstring(dom.XMLDesc(0))
    return {
        target.get("dev", "")
        for target in root.iterfind("./devices/interface/target")
        if GUEST_TAP_RE.match(target.get("dev", ""))
    }


def destroy_and_undefine(dom: libvirt.virDomain) -> None:
    """Stop ``dom`` and forget it; a domain that is already gone is fine."""
    try:
        if dom.isActive():
            dom.destroy()
        if dom.isPersistent():
            dom.undefine()
    except libvirt.libvirtError as exc:
        if exc.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
            raise


def remove_domain(dom: libvirt.virDomain, *, remove_disk_dirs: str = "") -> None:
    """Destroy and undefine ``dom``, then drop its log, taps and the work directories
    (named ``remove_disk_dirs``…) of its disks."""
    disk_dirs = _disk_dirs(dom, remove_disk_dirs) if remove_disk_dirs else set()
    taps = _taps(dom)
    name = dom.name()
    destroy_and_undefine(dom)
    LOG.info("removed domain %s", name)
    (QEMU_LOG_DIR / f"{name}.log").unlink(missing_ok=True)
    for tap in taps:
        delete_tap(tap)
    for directory in disk_dirs:
        if directory.exists():
            shutil.rmtree(directory)


def make_workdir(run_id: str, prefix: str = NAME_PREFIX) -> Path:
    """Create this run's temp dir for disks, marked with our PID as its owner.

    Guests named ``prefix…`` keep their disks in it, so that cleanup_leftovers
    can tell a live run's guests from a dead one's.
    """
    workdir = Path(tempfile.mkdtemp(prefix=f"{prefix}{run_id}-"))
    (workdir / OWNER_FILE).write_text(str(os.getpid()))
    return workdir


def fresh_specs(conn: libvirt.virConnect, prefix: str, keys: Sequence[str],
                nova_version: str = "1.1", nic: bool = False
                ) -> tuple[Path, dict[str, E2EDomain]]:
    """Sweep ``prefix`` leftovers; a new workdir and one fresh guest spec per key in it."""
    cleanup_leftovers(conn, prefix)
    run_id = secrets.token_hex(3)
    workdir = make_workdir(run_id, prefix)
    return workdir, {key: make_spec(run_id, key, nova_version, workdir, prefix=prefix,
                                    nic=nic) for key in keys}


def _owned_by_live_run(dom: libvirt.virDomain, prefix: str) -> bool:
    """True if ``dom``'s disks sit in the workdir of a test run still running."""
    for directory in _disk_dirs(dom, prefix):
        pid = procs.read_pid_file(directory / OWNER_FILE)
        comm = procs.pid_comm(pid) if pid and pid != os.getpid() else None
        if comm and comm.startswith(("python", "pytest")) and procs.pid_alive(pid):
            return True
    return False


def cleanup_leftovers(conn: libvirt.virConnect, prefix: str = NAME_PREFIX) -> list[str]:
    """Remove ``prefix*`` domains (and stray e2e taps) that earlier, dead runs left behind."""
    removed = []
    for dom in conn.listAllDomains(0):
        if not dom.name().startswith(prefix):
            continue
        if _owned_by_live_run(dom, prefix):
            LOG.warning("leaving %s alone: another run owns it", dom.name())
            continue
        LOG.warning("removing leftover domain %s", dom.name())
        remove_domain(dom, remove_disk_dirs=prefix)
        removed.append(dom.name())
    in_use = {tap for dom in conn.listAllDomains(0) for tap in _taps(dom)}
    for tap in Path("/sys/class/net").iterdir():
        # A tap with carrier is held open by a QEMU, perhaps one of another libvirtd
        # (``conn`` may be a private daemon's): never ours to delete.
        if TAP_RE.match(tap.name) and tap.name not in in_use and not _attached(tap):
            delete_tap(tap.name)
            removed.append(tap.name)
    return removed


def _attached(tap: Path) -> bool:
    """True if a process has the tap open (the kernel then reports carrier)."""
    try:
        return (tap / "carrier").read_text().strip() == "1"
    except OSError:  # EINVAL while the device is down
        return False


def remove_spec(conn: libvirt.virConnect, spec: E2EDomain) -> None:
    """Tear down the guest of ``spec`` (if defined) and everything it used."""
    try:
        dom = conn.lookupByName(spec.name)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
            raise
    else:
        remove_domain(dom)
    delete_tap(spec.tap)
    spec.disk_path.unlink(missing_ok=True)


def remove_specs(conn: libvirt.virConnect, specs: Iterable[E2EDomain]) -> None:
    """Tear down every guest in ``specs``, then report all failures at once."""
    failures = []
    for spec in specs:
        try:
            remove_spec(conn, spec)
        except (libvirt.libvirtError, OSError, subprocess.CalledProcessError) as exc:
            LOG.error("could not remove %s: %s", spec.name, exc)
            failures.append(f"{spec.name}: {exc}")
    if failures:
        raise RuntimeError("teardown failed: " + "; ".join(failures))


def qemu_pid(name: str, pid_dir: Path = QEMU_RUN_DIR) -> int | None:
    """The live QEMU process of domain ``name``, from libvirt's pid file."""
    pid = procs.read_pid_file(pid_dir / f"{name}.pid")
    return pid if pid and procs.pid_alive(pid) else None
