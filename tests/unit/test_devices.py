"""Disks and interfaces from a domain's XML, joined with its Nova ports."""

from __future__ import annotations

import pytest

from enricher.tenancy import devices
from enricher.tenancy.domain_reader import record_from_xml
from tests import fixtures

XML = fixtures.FIXTURES / "domain-xml"
INSTANCE_A = "e22c05ef-5d01-420e-8189-a451e4f10d3e"


def _record(name: str, uuid: str = "u"):
    return record_from_xml((XML / name).read_text(), uuid)


def test_rbd_disk_and_ovs_ports_with_their_fixed_ips() -> None:
    record = _record("nova-1.1-instance-0000000a.xml", INSTANCE_A)
    desc = record.description
    assert desc.uuid == INSTANCE_A and desc.name == "instance-0000000a"
    assert desc.disks == (devices.Disk(
        target="vda", bus="virtio", device="disk", driver_type="raw", cache="writeback",
        source_type="network", source="vms/%s_disk" % INSTANCE_A, serial=None,
        driver_name="qemu", discard="unmap"),)
    assert (desc.os_type, desc.os_arch) == ("hvm", "x86_64")
    first, second = desc.interfaces
    assert first == devices.Interface(
        target="tap68ffd243-5a", mac="fa:16:3e:4b:2c:17", type="bridge", bridge="br-int",
        model="virtio", mtu=1442, port_id="68ffd243-5a25-4423-89b1-62f0d5dc9bff",
        ips=("10.0.0.12", "fd00:10::f816:3eff:fe4b:2c17"))
    assert (second.port_id, second.ips) == ("354aadf4-b2fe-4b9d-8066-14177312b404",
                                            ("192.168.50.7",))
    assert desc.interface("tap354aadf4-b2") is second and desc.disk("vda") is desc.disks[0]


def test_volume_serial_and_a_port_found_by_its_tap_name() -> None:
    desc = _record("nova-1.1-owner-na-boot-from-volume.xml").description
    (disk,) = desc.disks
    assert disk.serial == "3744f068-90b0-4a01-a45d-7f9dea7bdc70"
    assert disk.source == "volumes/volume-3744f068-90b0-4a01-a45d-7f9dea7bdc70"
    (nic,) = desc.interfaces
    # type='ethernet' has no <virtualport>: Nova's "tap" + port_id[:11] rule finds it.
    assert (nic.type, nic.port_id, nic.ips) == (
        "ethernet", "755813e2-c0a6-4f8a-aacd-55190dd1a4a3", ("10.0.0.57",))


def test_a_domain_without_nova_metadata_still_has_devices() -> None:
    record = _record("non-nova-no-metadata.xml")
    assert record.tenancy.source == "none" and record.problem is None
    assert record.description is not None
    assert all(nic.port_id is None or nic.port_id for nic in record.description.interfaces)


@pytest.mark.parametrize("xml, expected", [
    ("<disk type='file' device='cdrom'><source file='/i.iso'/><target dev='hdc'/></disk>",
     devices.Disk(target="hdc", device="cdrom", source_type="file", source="/i.iso")),
    ("<disk type='volume'><source pool='p' volume='v'/><target dev='vdb'/></disk>",
     devices.Disk(target="vdb", source_type="volume", source="p/v")),
    ("<disk type='block'><source dev='/dev/sdb'/><target dev='sdb' bus='scsi'/>"
     "<serial> s1 </serial></disk>",
     devices.Disk(target="sdb", bus="scsi", source_type="block", source="/dev/sdb",
                  serial="s1")),
    ("<disk type='file'/>", devices.Disk(target=None, source_type="file")),
])
def test_disk_shapes(xml: str, expected: devices.Disk) -> None:
    text = "<domain><name>d</name><devices>%s</devices></domain>" % xml
    assert record_from_xml(text, "u").description.disks == (expected,)


def test_an_unmatched_tap_name_or_bad_mtu_is_not_guessed() -> None:
    text = ("<domain><devices><interface type='ethernet'><target dev='tapdeadbeef-00'/>"
            "<mtu size='big'/></interface></devices></domain>")
    (nic,) = record_from_xml(text, "u").description.interfaces
    assert (nic.port_id, nic.mtu, nic.ips) == (None, None, ())


def test_malformed_metadata_keeps_the_devices_and_says_why() -> None:
    text = ("<domain><metadata><nova:instance xmlns:nova="
            "'http://openstack.org/xmlns/libvirt/nova/1.1'><nova:flavor name='f'>"
            "<nova:vcpus>many</nova:vcpus></nova:flavor></nova:instance></metadata>"
            "<devices><disk type='file'><target dev='vda'/></disk></devices></domain>")
    record = record_from_xml(text, "u")
    assert record.tenancy.source == "none" and "vcpus" in record.problem
    assert record.description.disks[0].target == "vda"


def test_an_unparseable_document_has_no_description() -> None:
    record = record_from_xml("<domain>", "u")
    assert record.description is None and record.problem


def test_a_foreign_prefix_in_the_nova_namespace_is_read() -> None:
    text = ("<domain><metadata><x:instance xmlns:x='http://openstack.org/xmlns/libvirt/"
            "nova/1.1'><x:name>vm</x:name></x:instance></metadata></domain>")
    assert record_from_xml(text, "u").tenancy.instance_name == "vm"
