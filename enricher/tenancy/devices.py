"""What a domain's XML says about its disks and interfaces, and who they belong to.

Parsed once per domain from the XML the resolver reads with the tenancy
(``enricher.tenancy.domain_reader``), never per collection. Only what the
XML says is reported: a missing attribute is ``None``, never guessed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from lxml import etree

from enricher.tenancy import model

# Nova names a tap device "tap" + the first 11 characters of the port id
# (nova.network.model.NIC_NAME_LEN = 14).
TAP_PREFIX = "tap"
TAP_PORT_ID_CHARS = 11


@dataclasses.dataclass(frozen=True, slots=True)
class Disk:
    """One ``<disk>`` of the domain."""

    target: str | None  # <target dev>, e.g. "vda": the ``device`` label of block stats
    bus: str | None = None  # <target bus>: virtio, scsi, sata, ide...
    device: str | None = None  # <disk device>: disk, cdrom, floppy, lun
    driver_type: str | None = None  # <driver type>: qcow2, raw...
    cache: str | None = None  # <driver cache>: none, writeback...
    source_type: str | None = None  # <disk type>: file, block, network, volume, dir
    source: str | None = None  # file path, block device, "pool/image" (rbd), "pool/volume"
    serial: str | None = None  # <serial>: the Cinder volume id for volume-backed disks
    driver_name: str | None = None  # <driver name>: qemu
    discard: str | None = None  # <driver discard>: unmap, ignore


@dataclasses.dataclass(frozen=True, slots=True)
class Interface:
    """One ``<interface>`` of the domain."""

    target: str | None  # <target dev>, e.g. "tap1c2d3e4f-5a": the ``interface`` label
    mac: str | None = None
    type: str | None = None  # <interface type>: bridge, ethernet, network, vhostuser...
    bridge: str | None = None  # <source bridge>, or <source network> for type network
    model: str | None = None  # <model type>: virtio, e1000...
    mtu: int | None = None
    port_id: str | None = None  # the Neutron port id
    ips: tuple[str, ...] = ()  # the port's fixed IPs, where Nova's metadata has them


@dataclasses.dataclass(frozen=True, slots=True)
class Description:
    """A domain's XML, kept as read, and its devices."""

    uuid: str
    name: str | None
    xml: str
    disks: tuple[Disk, ...] = ()
    interfaces: tuple[Interface, ...] = ()
    os_type: str | None = None  # <os><type>: hvm
    os_arch: str | None = None  # <os><type arch>: x86_64
    os_machine: str | None = None  # <os><type machine>: pc-q35-8.2

    def disk(self, target: str) -> Disk | None:
        return next((d for d in self.disks if d.target == target), None)

    def interface(self, target: str) -> Interface | None:
        return next((i for i in self.interfaces if i.target == target), None)


def _local(element: etree._Element) -> str:
    tag = element.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _child(parent: etree._Element | None, name: str) -> etree._Element | None:
    if parent is None:
        return None
    return next((c for c in parent if _local(c) == name), None)


def _attr(parent: etree._Element | None, child: str, name: str) -> str | None:
    element = _child(parent, child)
    value = element.get(name) if element is not None else None
    return value or None


def _text(element: etree._Element | None) -> str | None:
    if element is None or not element.text:
        return None
    return element.text.strip() or None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _disk_source(disk: etree._Element, source_type: str | None) -> str | None:
    source = _child(disk, "source")
    if source is None:
        return None
    if source_type == "volume":
        pool, volume = source.get("pool"), source.get("volume")
        return "%s/%s" % (pool, volume) if pool and volume else volume or None
    for attr in ("file", "dev", "name", "dir"):  # file, block, network (rbd: pool/image), dir
        if source.get(attr):
            return source.get(attr)
    return None


def parse_disk(disk: etree._Element) -> Disk:
    source_type = disk.get("type") or None
    driver = _child(disk, "driver")
    return Disk(
        target=_attr(disk, "target", "dev"),
        bus=_attr(disk, "target", "bus"),
        device=disk.get("device") or None,
        driver_type=driver.get("type") or None if driver is not None else None,
        cache=driver.get("cache") or None if driver is not None else None,
        source_type=source_type,
        source=_disk_source(disk, source_type),
        serial=_text(_child(disk, "serial")),
        driver_name=driver.get("name") or None if driver is not None else None,
        discard=driver.get("discard") or None if driver is not None else None,
    )


def _port_of(port_id: str | None, target: str | None,
             ports: Sequence[model.Port]) -> model.Port | None:
    """The Nova port of an interface: by its id, else by Nova's tap name rule."""
    if port_id:
        return next((p for p in ports if p.uuid == port_id), None)
    if target and target.startswith(TAP_PREFIX) and len(target) > len(TAP_PREFIX):
        prefix = target[len(TAP_PREFIX):]
        if len(prefix) == TAP_PORT_ID_CHARS:
            return next((p for p in ports if p.uuid[:TAP_PORT_ID_CHARS] == prefix), None)
    return None


def parse_interface(interface: etree._Element, ports: Sequence[model.Port] = ()) -> Interface:
    kind = interface.get("type") or None
    source = _child(interface, "source")
    bridge = None
    if source is not None:
        bridge = source.get("bridge") or source.get("network") or None
    target = _attr(interface, "target", "dev")
    port_id = _attr(_child(interface, "virtualport"), "parameters", "interfaceid")
    port = _port_of(port_id, target, ports)
    if port is not None:
        port_id = port.uuid
    return Interface(
        target=target,
        mac=_attr(interface, "mac", "address"),
        type=kind,
        bridge=bridge,
        model=_attr(interface, "model", "type"),
        mtu=_int(_attr(interface, "mtu", "size")),
        port_id=port_id,
        ips=tuple(ip.address for ip in port.ips) if port is not None else (),
    )


def describe(root: etree._Element, uuid: str, xml: str,
             ports: Sequence[model.Port] = ()) -> Description:
    """A Description of a parsed ``<domain>``; ``ports`` from its Nova metadata."""
    devices = _child(root, "devices")
    children = list(devices) if devices is not None else []
    os_type = _child(_child(root, "os"), "type")
    return Description(
        uuid=uuid,
        name=_text(_child(root, "name")),
        xml=xml,
        disks=tuple(parse_disk(c) for c in children if _local(c) == "disk"),
        interfaces=tuple(parse_interface(c, ports) for c in children
                         if _local(c) == "interface"),
        os_type=_text(os_type),
        os_arch=os_type.get("arch") or None if os_type is not None else None,
        os_machine=os_type.get("machine") or None if os_type is not None else None,
    )
