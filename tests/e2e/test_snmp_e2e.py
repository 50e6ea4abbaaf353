"""Real libvirtd + QEMU through Debian's snmpd: Counter64 counters and notifications.

Four tiny guests watched by an enricher process with ``[snmp] enabled``,
registered with an snmpd started by the test (its AgentX socket in a
temporary directory), which sends notifications to an snmptrapd started by
the test: one guest writes to its disk for ever and has a tap NIC the test
sends frames into, one arms an ib700 watchdog and halts, one writes to a
disk on a full tmpfs (I/O error), one panics through a pvpanic device.
"""

from __future__ import annotations

import dataclasses
import errno
import shutil
import socket
import struct
import time
from collections.abc import Iterator

import libvirt
import pytest

from enricher.exporters import catalog
from enricher.exporters.snmp import mib
from tests import snmp
from tests.e2e.harness import bootsector, domains, procs, series, tmpfs
from tests.e2e.harness.domains import E2EDomain
from tests.e2e.harness.enricher_proc import EnricherProcess, events_config, launch_enricher
from tests.e2e.harness.libvirtd import LibvirtHost

pytestmark = pytest.mark.e2e
NAME_PREFIX = "enr-snmp-"
TIMEOUT = 30.0
INTERVAL = 2
FULL_TMPFS_BYTES = 64 * 1024
NAMED = mib.Layout(mib.parse_oid(mib.DEFAULT_BASE_OID)).named()
# Write 1 to the pvpanic port (0x505): the guest panicked.
PANIC = bytes([0xB0, 0x01, 0xBA, 0x05, 0x05, 0xEE]) + bootsector.HALT
PANIC_DEVICE = "<panic model='isa'><address type='isa' iobase='0x505'/></panic>"
# For ever: write the boot sector to LBA 200, read it back to 0000:8000 (INT 13h
# AH=43h and 42h); DL, the boot drive, is kept at 0x7c3f:
#   xor ax,ax; mov ds,ax; mov [0x7c3f],dl
#   loop: mov dl,[0x7c3f]; mov si,0x7c40; mov ax,0x4300; int 0x13
#         mov dl,[0x7c3f]; mov si,0x7c50; mov ah,0x42; int 0x13; jmp loop
_LOOP = bytes.fromhex("31c08ed888163f7c" "8a163f7cbe407cb80043cd13"
                      "8a163f7cbe507cb442cd13ebe7")
LOOP_IO = (_LOOP + bytes(63 - len(_LOOP)) + b"\0"
           + struct.pack("<BBHHHQ", 0x10, 0, 1, 0x7C00, 0, 200)
           + struct.pack("<BBHHHQ", 0x10, 0, 1, 0x8000, 0, 200))
# SNMP column -> (its catalog family, its row below the VM index, the guest).
COUNTERS = {
    "enrVmCpuTime": ("libvirt_domain_cpu_time_seconds_total", (), "ctr"),
    "enrDiskWriteBytes": ("libvirt_domain_block_write_bytes_total", (1,), "ctr"),
    "enrDiskWriteRequests": ("libvirt_domain_block_write_requests_total", (1,), "ctr"),
    "enrDiskReadBytes": ("libvirt_domain_block_read_bytes_total", (1,), "ctr"),
    "enrNicRxBytes": ("libvirt_domain_net_receive_bytes_total", (1,), "nic"),
    "enrNicRxPackets": ("libvirt_domain_net_receive_packets_total", (1,), "nic"),
    "enrNicTxBytes": ("libvirt_domain_net_transmit_bytes_total", (1,), "nic"),
    "enrNicRxDrops": ("libvirt_domain_net_receive_drops_total", (1,), "nic"),
}


@dataclasses.dataclass
class Setup:
    conn: libvirt.virConnect
    enricher: EnricherProcess
    snmpd: snmp.Snmpd
    trapd: snmp.Daemon
    specs: dict[str, E2EDomain]

    def vm_index(self, key: str) -> int:
        uuids = {v: k for k, v in snmp.walk_raw(
            self.snmpd.port, _dotted(NAMED["enrVmUuid"])).items()}
        return uuids[self.specs[key].uuid.encode()][-1]

    def get(self, oids: list[str]) -> list[int]:
        out = snmp.tool("snmpget", self.snmpd.port, ["-Oqv", *oids], mib=False)
        return [int(v) for v in out.split()]


def _dotted(oid: tuple[int, ...]) -> str:
    return "." + ".".join(map(str, oid))


@pytest.fixture(scope="module")
def setup(libvirt_host: LibvirtHost, libvirt_conn: libvirt.virConnect,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    workdir, specs = domains.fresh_specs(libvirt_conn, NAME_PREFIX,
                                         ("ctr", "nic", "wd", "io", "panic"), nic=True)
    full = workdir / "full"
    specs["io"] = dataclasses.replace(specs["io"], disk_path=full / "io.raw")
    bootsector.write_image(specs["ctr"].disk_path, LOOP_IO)
    bootsector.write_image(specs["nic"].disk_path, bootsector.IDLE)
    bootsector.write_image(specs["wd"].disk_path, bootsector.WATCHDOG)
    bootsector.write_image(specs["panic"].disk_path, PANIC)
    snmp_dir = tmp_path_factory.mktemp("snmpd")
    enricher_dir = tmp_path_factory.mktemp("enricher-snmp")
    trapd = snmp.start_snmptrapd(snmp_dir)
    snmpd = snmp.start_snmpd(snmp_dir, trap_port=trapd.port)
    config = events_config(enricher_dir, 1.0)
    config["DEFAULT"] = {"interval": INTERVAL}
    config["snmp"] = {"enabled": "true", "agentx_address": snmpd.socket,
                      "reconnect_interval": 1}
    try:
        with tmpfs.mounted(full, FULL_TMPFS_BYTES), \
                launch_enricher(enricher_dir, libvirt_host.uri, config) as enricher:
            bootsector.write_image(specs["io"].disk_path, bootsector.DISK_WRITE)
            tmpfs.fill(full)
            kind = libvirt_host.domain_type
            xml = [
                domains.guest_xml(specs["ctr"], kind, nic=False),
                domains.guest_xml(specs["nic"], kind, memory_mib=32, nic=True),
                domains.small_xml(specs["wd"], kind,
                                  "<watchdog model='ib700' action='pause'/>"),
                domains.small_xml(specs["io"], kind, error_policy="stop"),
                domains.small_xml(specs["panic"], kind, PANIC_DEVICE),
            ]
            try:
                snmp.wait_registered(snmpd.port)
                for text in xml:
                    domains.start(libvirt_conn, text)
                yield Setup(libvirt_conn, enricher, snmpd, trapd, specs)
            finally:
                domains.remove_specs(libvirt_conn, specs.values())
    finally:
        snmpd.stop()
        trapd.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _send_frames(tap: str, count: int = 20) -> None:
    """Broadcast Ethernet frames into the guest's tap (the guest receives them)."""
    frame = b"\xff" * 6 + bytes.fromhex("020000000001") + b"\x88\xb5" + bytes(46)
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as sock:
        sock.bind((tap, 0))
        for _ in range(count):
            try:
                sock.send(frame)
            except OSError as exc:  # ENOBUFS: the tap's queue is full
                if exc.errno != errno.ENOBUFS:
                    raise


def _same_snapshot(setup: Setup, oids: list[str]) -> tuple[dict, list[int]]:
    """/metrics and snmpget of the same collection: (samples, SNMP values)."""
    stamp = _dotted(NAMED["enrCollectionTimestamp"]) + ".0"
    for _ in range(20):
        before = setup.enricher.samples()
        values = setup.get([stamp, *oids])
        after = setup.enricher.samples()
        times = {int(s["enricher_collection_timestamp_seconds"][0].value)
                 for s in (before, after)}
        if times == {values[0]}:
            return after, values[1:]
        time.sleep(0.3)
    raise AssertionError("no /metrics and SNMP read of the same collection")


@pytest.fixture(scope="module")
def readings(setup: Setup) -> list[dict[str, int]]:
    """The counters by snmpget at two collections, each checked against /metrics of
    the same collection (value times the family's scale is the exported value)."""
    procs.wait_until(lambda: series.of(setup.enricher.samples(),
                                       "libvirt_domain_net_receive_bytes_total",
                                       setup.specs["nic"]),
                     TIMEOUT, what="the NIC guest's interface series")
    # SeaBIOS takes some seconds before it runs the boot sector: read once it writes.
    procs.wait_until(lambda: any(s.value > 0 for s in series.of(
        setup.enricher.samples(), "libvirt_domain_block_write_bytes_total",
        setup.specs["ctr"])), TIMEOUT, what="the I/O guest's first disk writes")
    vms = {key: setup.vm_index(key) for key in ("ctr", "nic")}
    oids = [_dotted((*NAMED[name], vms[key], *row))
            for name, (_, row, key) in COUNTERS.items()]
    found_readings = []
    for _ in range(2):
        # More than the tap's queue (txqueuelen 1000): what QEMU does not take off
        # it for the driverless guest is dropped, and counted as received drops.
        _send_frames(setup.specs["nic"].tap, 1500)
        time.sleep(INTERVAL + 0.5)
        samples, values = _same_snapshot(setup, oids)
        for (name, (family, _, key)), value in zip(COUNTERS.items(), values, strict=True):
            found = series.of(samples, family, setup.specs[key])
            assert len(found) == 1, (family, found)
            scale = catalog.get(family).scale
            assert value * scale == found[0].value, (name, value, found[0].value)
        found_readings.append(dict(zip(COUNTERS, values, strict=True)))
    return found_readings


def test_counter64_counters_agree_with_metrics_of_the_same_collection(readings) -> None:
    assert len(readings) == 2


def test_cpu_time_increases_between_collections(readings) -> None:
    first, second = readings
    assert second["enrVmCpuTime"] > first["enrVmCpuTime"]


def test_disk_and_nic_counters_increase_between_collections(readings) -> None:
    first, second = readings
    for name in ("enrDiskWriteBytes", "enrDiskWriteRequests", "enrDiskReadBytes"):
        assert second[name] > first[name], (name, first[name], second[name])
    # The guest has no network driver: QEMU takes frames off the tap until its
    # queue is full, then the tap drops them. Either way a receive counter grows.
    received = ("enrNicRxBytes", "enrNicRxPackets", "enrNicRxDrops")
    assert any(second[n] > first[n] for n in received), (first, second)


def _traps(setup: Setup) -> list[str]:
    return [t for t in setup.trapd.log_text().split("\n20") if "32473" in t]


def _trap_of(setup: Setup, notification: str, key: str) -> str:
    name = _dotted(NAMED[notification])
    uuid = setup.specs[key].uuid

    def found() -> str | None:
        return next((t for t in _traps(setup) if "OID: %s\t" % name in t + "\t"
                     and uuid in t), None)
    return procs.wait_until(found, TIMEOUT, what="%s for %s" % (notification, key),
                            details=setup.trapd.log_text)


def _check_tenancy(trap: str, spec: E2EDomain, detail: str) -> None:
    assert spec.uuid in trap
    assert '"%s"' % spec.instance_name in trap
    assert '"%s"' % spec.labels["project_name"] in trap
    assert '"%s"' % spec.labels["project_id"] in trap
    assert '"%s"' % spec.labels["user_name"] in trap
    assert '"%s"' % spec.name in trap
    assert '"%s"' % detail in trap


def test_watchdog_notification(setup: Setup) -> None:
    trap = _trap_of(setup, "enrVmWatchdog", "wd")
    _check_tenancy(trap, setup.specs["wd"], "pause")


def test_io_error_notification(setup: Setup) -> None:
    trap = _trap_of(setup, "enrVmIoError", "io")
    _check_tenancy(trap, setup.specs["io"], "pause")


def test_crash_notification_once(setup: Setup) -> None:
    trap = _trap_of(setup, "enrVmCrashed", "panic")
    _check_tenancy(trap, setup.specs["panic"], "panicked")
    time.sleep(1.0)  # the stop that follows the crash sends nothing more
    name = _dotted(NAMED["enrVmCrashed"])
    assert sum(1 for t in _traps(setup) if "OID: %s\t" % name in t + "\t") == 1
