"""Derivations: how a profile's own families are filled from a Snapshot.

Each derivation yields ``(sample, label values, value)`` rows: ``sample`` is
the domain of a per-VM row (its profile labels come first), ``None`` for a
host-wide one; the label values follow the family's own labels. Everything
comes from the snapshot (bulk stats, tenancy, the cached domain
descriptions): no libvirt call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType

from enricher.libvirt.stats import DomainSample
from enricher.sampler import Snapshot

Row = tuple[DomainSample | None, tuple[str, ...], float]
Derivation = Callable[[Snapshot], Iterator[Row]]

RUNNING = 1  # virDomainState VIR_DOMAIN_RUNNING
# virDomainJobType codes by the type label of libvirt_domain_job_info.
JOB_TYPES = MappingProxyType({"none": 0, "bounded": 1, "unbounded": 2, "completed": 3,
                              "failed": 4, "cancelled": 5})
_SKIPPED_DISKS = ("cdrom", "floppy")  # inovex reports disks only


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _descriptions(snapshot: Snapshot) -> Iterator[tuple[DomainSample, object]]:
    """Each domain with its cached description (domains without one are left out)."""
    for sample in snapshot.samples:
        description = snapshot.description_of(sample.uuid)
        if description is not None:
            yield sample, description


def domains(snapshot: Snapshot) -> Iterator[Row]:
    yield None, (), len(snapshot.samples)


def timed_out(snapshot: Snapshot) -> Iterator[Row]:
    for sample in snapshot.samples:
        if sample.active:
            yield sample, (), 0


def vm_up(snapshot: Snapshot) -> Iterator[Row]:
    for sample in snapshot.samples:
        yield sample, (), 1 if sample.state == RUNNING else 0


def used_percent(snapshot: Snapshot) -> Iterator[Row]:
    """100 * (available - usable) / available, where the guest reports both."""
    for sample in snapshot.samples:
        available = sample.scalars.get("balloon.available")
        usable = sample.scalars.get("balloon.usable")
        if sample.active and available and usable is not None:
            yield sample, (), 100.0 * (available - usable) / available


def job_type(snapshot: Snapshot) -> Iterator[Row]:
    """virDomainJobType of the background job ([DEFAULT] extra_stats job_stats_background)."""
    if snapshot.extra is None:
        return
    for sample in snapshot.samples:
        for point in snapshot.extra.points.get(sample.uuid, ()):
            if point.family == "libvirt_domain_job_info" and point.labels[0] == "background":
                yield sample, (), JOB_TYPES.get(point.labels[1], -1)


def os_info(snapshot: Snapshot) -> Iterator[Row]:
    for sample, desc in _descriptions(snapshot):
        yield sample, (_text(desc.os_type), _text(desc.os_machine), _text(desc.os_arch)), 1


def block_info(snapshot: Snapshot) -> Iterator[Row]:
    """libvirt_domain_block_info: every disk, as the catalog labels it."""
    for sample, desc in _descriptions(snapshot):
        for disk in desc.disks:
            if disk.target is None:
                continue
            yield sample, tuple(_text(v) for v in (
                disk.target, disk.bus, disk.device, disk.driver_type, disk.cache,
                disk.source_type, disk.source, disk.serial)), 1


def interface_info(snapshot: Snapshot) -> Iterator[Row]:
    """libvirt_domain_interface_info: every NIC with a target, as the catalog labels it."""
    for sample, desc in _descriptions(snapshot):
        for nic in desc.interfaces:
            if nic.target is None:
                continue
            yield sample, tuple(_text(v) for v in (
                nic.target, nic.mac, nic.type, nic.bridge, nic.model, nic.mtu,
                nic.port_id, ",".join(nic.ips))), 1


def inovex_block_info(snapshot: Snapshot) -> Iterator[Row]:
    """libvirt_domain_block_stats_info: inovex's labels (disks only, no CD-ROMs)."""
    for sample, desc in _descriptions(snapshot):
        for disk in desc.disks:
            if disk.target is None or disk.device in _SKIPPED_DISKS:
                continue
            yield sample, tuple(_text(v) for v in (
                disk.source_type, disk.cache, disk.discard, disk.driver_name,
                disk.driver_type, disk.serial, disk.source, disk.bus, disk.target)), 1


def inovex_interface_info(snapshot: Snapshot) -> Iterator[Row]:
    """libvirt_domain_interface_stats_info: inovex's labels, then port id and fixed IPs."""
    for sample, desc in _descriptions(snapshot):
        for nic in desc.interfaces:
            if nic.target is None:
                continue
            yield sample, tuple(_text(v) for v in (
                nic.type, nic.mac, nic.model, nic.mtu, nic.bridge, nic.target,
                nic.port_id, ",".join(nic.ips))), 1


DERIVATIONS: Mapping[str, Derivation] = MappingProxyType({
    f.__name__: f for f in (domains, timed_out, vm_up, used_percent, job_type, os_info,
                            block_info, interface_info, inovex_block_info,
                            inovex_interface_info)
})
