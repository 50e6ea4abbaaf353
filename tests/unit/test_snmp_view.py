"""The view of one snapshot: every table's cells, from samples, tenancy, extra and descriptions."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

from enricher.exporters.snmp import agentx, index, mib
from enricher.extra.base import Point
from enricher.extra.runner import ExtraResult
from enricher.libvirt.stats import sample_from_record
from enricher.sampler import Snapshot
from enricher.tenancy import devices, model
from tests.unit.test_catalog import RECORD

UUID = "e22c05ef-5d01-420e-8189-a451e4f10d3e"
LAYOUT = mib.Layout(mib.parse_oid(mib.DEFAULT_BASE_OID))
COLUMNS = {c.name: (t, c) for t in mib.TABLES for c in t.columns}


class Domain:
    def name(self) -> str:
        return "instance-0000000a"

    def UUIDString(self) -> str:  # noqa: N802 - libvirt's name
        return UUID

    def ID(self) -> int:  # noqa: N802 - libvirt's name
        return 3


def snapshot(**changes: object) -> Snapshot:
    record = {**RECORD, "cpu.time": 2**62 + 5, "block.0.rd.bytes": 2**40}
    sample = sample_from_record(Domain(), record)
    tenancy = model.Tenancy(instance_name="web-01", project_id="p1", project_name="team",
                            user_name="alice", source=model.SOURCE_METADATA)
    extra = ExtraResult(points=MappingProxyType({UUID: (
        Point("libvirt_domain_cpu_utilization_ratio", 0.1234),
        Point("libvirt_domain_block_error", 2, ("vda", "no_space")),
        Point("libvirt_domain_state_reason_info", 1, ("running", "booted", "0")),
        Point("libvirt_domain_state_severity", 0),
        Point("libvirt_domain_job_info", 1, ("background", "unbounded", "migration_out")),
        Point("libvirt_domain_job_progress_ratio", 0.5, ("background",)),
        Point("libvirt_domain_job_progress_ratio", 1, ("completed",)),
        Point("libvirt_domain_vcpu_affinity", 1, ("0", "2")),
        Point("libvirt_domain_vcpu_affinity", 1, ("0", "3")),
        Point("libvirt_domain_vcpu_affinity", 0, ("0", "4")),
        Point("libvirt_domain_perf_event_enabled", 1, ("cpu_cycles",)),
        Point("libvirt_domain_perf_event_enabled", 0, ("cache_misses",)),
    )}), calls=MappingProxyType({("disk_err", "ok"): 1}))
    fields = dict(samples=(sample,), tenancy=MappingProxyType({UUID: tenancy}),
                  libvirt_up=True, collected_at=1_700_000_000.5, duration=0.25,
                  sequence=4, extra=extra)
    fields.update(changes)
    return Snapshot(**fields)  # type: ignore[arg-type]


def cell(view: index.View, name: str, *row: int) -> object:
    table, column = COLUMNS[name]
    vb = view.get((*LAYOUT.column(table, column), *row))
    return None if vb.type >= agentx.NO_SUCH_OBJECT else vb.value


def test_every_table_is_filled_from_the_snapshot() -> None:
    descriptions = MappingProxyType({UUID: devices.Description(
        UUID, "instance-0000000a", "<domain/>",
        (devices.Disk("vda", serial="9f1e-volume"),),
        (devices.Interface("tap0", mac="fa:16:3e:01:02:03", port_id="port-1"),))})
    indexes = index.VmIndexes()
    view = index.build(snapshot(descriptions=descriptions), LAYOUT, indexes)
    vm = indexes.get(UUID)
    assert list(view.oids) == sorted(view.oids)
    assert cell(view, "enrVmUuid", vm) == UUID.encode()
    assert cell(view, "enrVmInstanceName", vm) == b"web-01"
    assert cell(view, "enrVmUserId", vm) == b""  # unknown: empty
    assert cell(view, "enrVmState", vm) == 1 and cell(view, "enrVmUp", vm) == index.TRUE
    assert cell(view, "enrVmCpuTime", vm) == 2**62 + 5  # raw nanoseconds, no float
    assert cell(view, "enrVmMemoryMax", vm) == 131072  # KiB
    assert cell(view, "enrVmTenancySource", vm) == b"metadata"
    assert cell(view, "enrDiskTarget", vm, 1) == b"vda"
    assert cell(view, "enrDiskSerial", vm, 1) == b"9f1e-volume"
    assert cell(view, "enrDiskReadBytes", vm, 1) == 2**40
    assert cell(view, "enrDiskErrorCode", vm, 1) == 2
    assert cell(view, "enrNicMac", vm, 1) == bytes.fromhex("fa163e010203")
    assert cell(view, "enrNicPortId", vm, 1) == b"port-1"
    assert cell(view, "enrNicTxBytes", vm, 1) == 15
    assert cell(view, "enrVcpuTime", vm, 1) == 10
    assert cell(view, "enrVcpuAffinity", vm, 1) == b"2-3"
    assert cell(view, "enrVmxCpuUtilization", vm) == 1234  # hundredths of a percent
    assert cell(view, "enrVmxStateReason", vm) == b"booted"
    assert cell(view, "enrVmxJobOperation", vm) == b"migration_out"
    assert cell(view, "enrVmxJobProgress", vm) == 5000  # the background job's
    assert cell(view, "enrVmxJobTimeElapsed", vm) is None  # not reported: absent
    cycles = mib.PERF_EVENTS.index("cpu_cycles") + 1
    assert cell(view, "enrPerfEventCount", vm, cycles) == 31
    assert cell(view, "enrPerfEventEnabled", vm, cycles) == index.TRUE
    misses = mib.PERF_EVENTS.index("cache_misses") + 1
    assert cell(view, "enrPerfEventEnabled", vm, misses) == index.FALSE
    assert cell(view, "enrPerfEventCount", vm, mib.PERF_EVENTS.index("cmt") + 1) is None
    up = view.get(LAYOUT.scalar(mib.HEALTH_SCALARS[0]))
    assert up.value == index.TRUE
    assert view.get(LAYOUT.scalar(mib.HEALTH_SCALARS[2])).value == 250  # ms


def test_unknown_descriptions_and_shut_off_domains() -> None:
    indexes = index.VmIndexes()
    sample = sample_from_record(Domain(), RECORD)
    off = dataclasses.replace(sample, active=False, state=5)
    view = index.build(snapshot(samples=(off,), extra=None), LAYOUT, indexes)
    vm = indexes.get(UUID)
    assert cell(view, "enrVmState", vm) == 5 and cell(view, "enrVmUp", vm) == index.FALSE
    assert cell(view, "enrVmVcpus", vm) == 1  # exported for shut-off domains too
    assert cell(view, "enrVmCpuTime", vm) is None  # active only, as on /metrics
    assert cell(view, "enrNicMac", vm, 1) is None  # unknown MAC: absent
    assert cell(view, "enrDiskSerial", vm, 1) == b""
    assert cell(view, "enrDiskErrorCode", vm, 1) is None  # disk_err not collected
    assert cell(view, "enrVmxCpuUtilization", vm) is None


def test_a_gone_domain_leaves_the_view_and_its_index() -> None:
    indexes = index.VmIndexes()
    index.build(snapshot(), LAYOUT, indexes)
    view = index.build(snapshot(samples=(), libvirt_up=False), LAYOUT, indexes)
    first_vm_oid = (*LAYOUT.base, mib.OBJECTS, mib.VM_TABLE.subid)
    assert view.next(first_vm_oid, True).type == agentx.END_OF_MIB_VIEW
    assert view.get(LAYOUT.scalar(mib.HEALTH_SCALARS[0])).value == index.FALSE
