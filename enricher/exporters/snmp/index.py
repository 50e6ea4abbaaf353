"""One Snapshot as the OID-sorted list of ENRICHER-MIB instances the agent serves.

Built once per snapshot (``Sampler.on_snapshot``); a Get is one bisect, a
GetNext another. Nothing here calls libvirt: every value comes from the
snapshot (samples, tenancy, extra statistics, the domain descriptions
that give disk serials, MACs and port ids).
"""

from __future__ import annotations

import bisect
import dataclasses
import logging
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from enricher.exporters import catalog
from enricher.exporters.snmp import agentx, mib
from enricher.extra.base import Point
from enricher.libvirt.stats import Device, DomainSample
from enricher.sampler import Snapshot
from enricher.tenancy import devices, model

LOG = logging.getLogger(__name__)

Oid = agentx.Oid
_INDEX_MAX = 0x7FFFFFFF
_U32 = 0xFFFFFFFF
_U64 = 0xFFFFFFFFFFFFFFFF
TRUE, FALSE = 1, 2


def encode_string(text: str | None) -> bytes:
    """UTF-8 bytes of ``text``, cut at a character boundary to mib.STRING_MAX bytes."""
    data = (text or "").encode("utf-8", "surrogatepass")
    if len(data) <= mib.STRING_MAX:
        return data
    return data[:mib.STRING_MAX].decode("utf-8", "ignore").encode("utf-8", "surrogatepass")


def mac_bytes(mac: str | None) -> bytes | None:
    """``52:54:00:12:34:56`` as 6 bytes, or None."""
    try:
        data = bytes.fromhex((mac or "").replace(":", "").replace("-", ""))
    except ValueError:
        return None
    return data if len(data) == 6 else None


def cpu_list(cpus: Iterable[int]) -> str:
    """Sorted host CPU numbers as ranges: ``0-3,8``."""
    ranges: list[list[int]] = []
    for cpu in sorted(set(cpus)):
        if ranges and cpu == ranges[-1][1] + 1:
            ranges[-1][1] = cpu
        else:
            ranges.append([cpu, cpu])
    return ",".join(str(a) if a == b else "%d-%d" % (a, b) for a, b in ranges)


class VmIndexes:
    """Per-UUID row indexes of the VM table, stable for each domain's lifetime.

    A domain's index is its UUID as a 128-bit number modulo 2^31 - 1, plus
    1, so it is the same after a restart of the enricher; when two domains
    share it (about one host in 20000 with 300 domains), the later one gets
    the next free value. An index is freed when
    its domain leaves the snapshot.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()  # the sampler builds, the dispatcher notifies
        self._by_uuid: dict[str, int] = {}
        self._used: set[int] = set()

    @staticmethod
    def natural(uuid: str) -> int:
        try:
            value = int(uuid.replace("-", ""), 16)
        except ValueError:  # not hex: any stable number will do
            value = int.from_bytes(uuid.encode()[:16], "big")
        return value % _INDEX_MAX + 1

    def get(self, uuid: str) -> int:
        """The index of ``uuid``, allocated if new."""
        with self._lock:
            return self._get_locked(uuid)

    def _get_locked(self, uuid: str) -> int:
        index = self._by_uuid.get(uuid)
        if index is not None:
            return index
        index = self.natural(uuid)
        while index in self._used:
            index = index % _INDEX_MAX + 1
        if index != self.natural(uuid):
            LOG.info("Domain %s shares its SNMP index with another; it gets %d", uuid,
                     index)
        self._by_uuid[uuid] = index
        self._used.add(index)
        return index

    def keep_only(self, uuids: Iterable[str]) -> None:
        """Free the indexes of every domain not in ``uuids``."""
        keep = set(uuids)
        with self._lock:
            self._forget(keep)

    def _forget(self, keep: set[str]) -> None:
        for uuid in [u for u in self._by_uuid if u not in keep]:
            self._used.discard(self._by_uuid.pop(uuid))


@dataclasses.dataclass(frozen=True, slots=True)
class View:
    """The sorted instances of one snapshot."""

    oids: tuple[Oid, ...]
    varbinds: tuple[agentx.VarBind, ...]
    objects: frozenset[Oid]  # the OIDs of the MIB's objects (instances' prefixes)
    sequence: int = 0

    def get(self, oid: Oid) -> agentx.VarBind:
        i = bisect.bisect_left(self.oids, oid)
        if i < len(self.oids) and self.oids[i] == oid:
            return self.varbinds[i]
        known = any(oid[:n] in self.objects for n in range(len(oid)))
        return agentx.VarBind(oid, agentx.NO_SUCH_INSTANCE if known
                              else agentx.NO_SUCH_OBJECT)

    def next(self, start: Oid, include: bool, end: Oid = ()) -> agentx.VarBind:
        """The first instance after ``start`` (or at it, with ``include``) below ``end``."""
        find = bisect.bisect_left if include else bisect.bisect_right
        i = find(self.oids, start)
        if i < len(self.oids) and (not end or self.oids[i] < end):
            return self.varbinds[i]
        return agentx.VarBind(start, agentx.END_OF_MIB_VIEW)


def _clamp(kind: int, value: Any) -> int:
    number = int(value)
    if kind == agentx.COUNTER64:
        return min(max(number, 0), _U64)
    if kind == agentx.INTEGER:
        return min(max(number, -0x80000000), 0x7FFFFFFF)
    return min(max(number, 0), _U32)


class _Rows:
    """Collects (OID, varbind) pairs."""

    def __init__(self) -> None:
        self.items: list[tuple[Oid, agentx.VarBind]] = []

    def add(self, oid: Oid, syntax: mib.Syntax, value: Any) -> None:
        if value is None:
            return
        if syntax.type == agentx.OCTET_STRING:
            data = value if isinstance(value, bytes) else encode_string(str(value))
            self.items.append((oid, agentx.VarBind(oid, syntax.type, data)))
        else:
            self.items.append((oid, agentx.VarBind(oid, syntax.type,
                                                   _clamp(syntax.type, value))))


def _label(name: str, sample: DomainSample, tenancy: model.Tenancy) -> str | None:
    if name == "uuid":
        return sample.uuid
    if name == "domain":
        return sample.name
    if name == "source":
        return tenancy.source
    return tenancy.label_value(name)


def _core(column: mib.Column, sample: DomainSample, device: Device | None = None) -> Any:
    spec = catalog.get(column.source.partition(":")[2])
    if spec.active_only and not sample.active:
        return None
    if spec.name == "libvirt_domain_info_state":
        return sample.state
    if device is not None:
        return device.values.get(spec.stats_key.partition(".<n>.")[2])
    return sample.scalars.get(spec.stats_key)


def _points(points: Sequence[Point]) -> dict[str, list[Point]]:
    found: dict[str, list[Point]] = {}
    for point in points:
        found.setdefault(point.family, []).append(point)
    return found


def _extra(column: mib.Column, points: Mapping[str, list[Point]],
           match: Mapping[str, str] | None = None) -> Any:
    """The column's value from the domain's extra points (None when absent)."""
    spec = catalog.get(column.source.partition(":")[2])
    wanted = dict(column.labels)
    if match:
        wanted.update(match)
    for point in points.get(spec.name, ()):
        labels = dict(zip(spec.labels, point.labels, strict=False))
        if all(labels.get(k) == v for k, v in wanted.items()):
            if column.value_label:
                return labels.get(column.value_label)
            return point.value * column.factor
    return None


def _selectors(snapshot: Snapshot) -> frozenset[str]:
    if snapshot.extra is None:
        return frozenset()
    return frozenset(selector for selector, _ in snapshot.extra.calls) | frozenset(
        p.family for points in snapshot.extra.points.values() for p in points)


def build(snapshot: Snapshot, layout: mib.Layout, indexes: VmIndexes) -> View:
    """The view of ``snapshot``; ``indexes`` is updated (new domains, gone ones)."""
    rows = _Rows()
    _health(rows, snapshot, layout)
    collected = _selectors(snapshot)
    indexes.keep_only(s.uuid for s in snapshot.samples)
    for sample in snapshot.samples:
        vm = indexes.get(sample.uuid)
        tenancy = snapshot.tenancy_of(sample.uuid)
        extra = snapshot.extra.points.get(sample.uuid, ()) if snapshot.extra else ()
        points = _points(extra)
        description = snapshot.description_of(sample.uuid)
        _vm(rows, layout, vm, sample, tenancy)
        _disks(rows, layout, vm, sample, points, description, collected)
        _nics(rows, layout, vm, sample, description)
        _vcpus(rows, layout, vm, sample, points)
        for column in mib.EXTRA_TABLE.columns:
            rows.add((*layout.column(mib.EXTRA_TABLE, column), vm), column.syntax,
                     _extra(column, points))
        _perf(rows, layout, vm, sample, points)
    rows.items.sort(key=lambda item: item[0])
    objects = frozenset(layout.named().values())
    return View(tuple(o for o, _ in rows.items), tuple(v for _, v in rows.items),
                objects, snapshot.sequence)


def _health(rows: _Rows, snapshot: Snapshot, layout: mib.Layout) -> None:
    unresolved = sum(1 for s in snapshot.samples
                     if snapshot.tenancy_of(s.uuid).project_id is None)
    values = {
        "enrLibvirtUp": TRUE if snapshot.libvirt_up else FALSE,
        "enrCollectionTimestamp": int(snapshot.collected_at),
        "enrCollectionDuration": round(snapshot.duration * 1000),
        "enrDomains": len(snapshot.samples),
        "enrDomainsUnresolved": unresolved,
        "enrDomainsSkipped": snapshot.skipped,
    }
    for column in mib.HEALTH_SCALARS:
        rows.add(layout.scalar(column), column.syntax, values[column.name])


def _vm(rows: _Rows, layout: mib.Layout, vm: int, sample: DomainSample,
        tenancy: model.Tenancy) -> None:
    for column in mib.VM_TABLE.columns:
        kind, _, name = column.source.partition(":")
        if kind == "label":
            value: Any = _label(name, sample, tenancy)
        elif kind == "family":
            value = _core(column, sample)
        elif name == "state_reason":
            value = sample.reason
        elif name == "running":
            value = TRUE if sample.state == 1 else FALSE
        else:
            continue  # the index
        rows.add((*layout.column(mib.VM_TABLE, column), vm), column.syntax, value)


def _disks(rows: _Rows, layout: mib.Layout, vm: int, sample: DomainSample,
           points: Mapping[str, list[Point]], description: devices.Description | None,
           collected: frozenset[str]) -> None:
    for position, device in enumerate(sample.blocks, 1):
        disk = description.disk(device.name) if description is not None else None
        for column in mib.DISK_TABLE.columns:
            kind, _, name = column.source.partition(":")
            value: Any = None
            if kind == "label":
                value = device.name
            elif kind == "description":
                value = getattr(disk, name, None) or ""
            elif column.name == "enrDiskErrorCode":
                value = _extra(column, points, {"device": device.name})
                if value is None and "disk_err" in collected:
                    value = 0
            elif kind == "family":
                value = _core(column, sample, device)
            rows.add((*layout.column(mib.DISK_TABLE, column), vm, position),
                     column.syntax, value)


def _nics(rows: _Rows, layout: mib.Layout, vm: int, sample: DomainSample,
          description: devices.Description | None) -> None:
    for position, device in enumerate(sample.nets, 1):
        nic = description.interface(device.name) if description is not None else None
        for column in mib.NIC_TABLE.columns:
            kind, _, name = column.source.partition(":")
            value: Any = None
            if kind == "label":
                value = device.name
            elif name == "mac":
                value = mac_bytes(getattr(nic, "mac", None))
            elif kind == "description":
                value = getattr(nic, name, None) or ""
            elif kind == "family":
                value = _core(column, sample, device)
            rows.add((*layout.column(mib.NIC_TABLE, column), vm, position),
                     column.syntax, value)


def _vcpus(rows: _Rows, layout: mib.Layout, vm: int, sample: DomainSample,
           points: Mapping[str, list[Point]]) -> None:
    affinity: dict[str, list[int]] = {}
    for point in points.get("libvirt_domain_vcpu_affinity", ()):
        affinity.setdefault(point.labels[0], [])
        if point.value:
            affinity[point.labels[0]].append(int(point.labels[1]))
    for device in sample.vcpus:
        position = int(device.name) + 1
        for column in mib.VCPU_TABLE.columns:
            if column.name == "enrVcpuIndex":
                continue
            if column.name == "enrVcpuAffinity":
                cpus = affinity.get(device.name)
                value = cpu_list(cpus) if cpus is not None else None
            else:
                value = _core(column, sample, device)
            rows.add((*layout.column(mib.VCPU_TABLE, column), vm, position),
                     column.syntax, value)


def _perf(rows: _Rows, layout: mib.Layout, vm: int, sample: DomainSample,
          points: Mapping[str, list[Point]]) -> None:
    enabled = {p.labels[0]: p.value for p in points.get("libvirt_domain_perf_event_enabled",
                                                         ())}
    counted = {key[len("perf."):]: value for key, value in sample.scalars.items()
               if key.startswith("perf.")} if sample.active else {}
    name, count, flag = mib.PERF_TABLE.columns[1:]
    for position, event in enumerate(mib.PERF_EVENTS, 1):
        if event not in enabled and event not in counted:
            continue
        base = (vm, position)
        rows.add((*layout.column(mib.PERF_TABLE, name), *base), name.syntax, event)
        if event not in ("cmt", "mbmt", "mbml"):
            rows.add((*layout.column(mib.PERF_TABLE, count), *base), count.syntax,
                     counted.get(event))
        if event in enabled:
            rows.add((*layout.column(mib.PERF_TABLE, flag), *base), flag.syntax,
                     TRUE if enabled[event] else FALSE)


def walk(view: View, start: Oid = ()) -> Iterator[agentx.VarBind]:
    """Every instance from ``start`` on (for tests)."""
    i = bisect.bisect_left(view.oids, start)
    yield from view.varbinds[i:]
