"""Property tests of the domain-description parser (enricher/tenancy/devices.py).

A domain XML whose device fields and Nova metadata hold hostile values is
read into a DomainRecord with every field as written (or None where the XML
has none); any text at all gives a record (maybe without tenancy and with a
``problem``), never an exception.
"""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st
from lxml import etree

from enricher.tenancy import domain_reader, metadata, model
from tests.unit.test_metadata_fuzz import NOVA_NS, any_text, xml_value

attr = st.none() | xml_value


@st.composite
def domains(draw: st.DrawFn) -> tuple[str, dict]:
    root = etree.Element("domain", type="kvm")
    etree.SubElement(root, "name").text = "instance-1"
    meta = etree.SubElement(root, "metadata")
    prefix = draw(st.sampled_from(["nova", "n", "x"]))
    instance = etree.SubElement(meta, "{%s}instance" % NOVA_NS, nsmap={prefix: NOVA_NS})
    project = draw(attr)
    owner = etree.SubElement(instance, "{%s}owner" % NOVA_NS)
    etree.SubElement(owner, "{%s}project" % NOVA_NS, {"uuid": project} if project else {})
    devices = etree.SubElement(root, "devices")
    want: dict = {"project_id": project or None, "disks": [], "interfaces": []}
    for _ in range(draw(st.integers(0, 3))):
        values = {k: draw(attr) for k in ("type", "device", "dev", "bus", "file", "serial")}
        disk = etree.SubElement(devices, "disk", {k: values[k] for k in ("type", "device")
                                                  if values[k] is not None})
        if values["file"] is not None:
            etree.SubElement(disk, "source", file=values["file"])
        etree.SubElement(disk, "target", {k: values[k] for k in ("dev", "bus")
                                          if values[k] is not None})
        if values["serial"] is not None:
            etree.SubElement(disk, "serial").text = values["serial"]
        want["disks"].append(values)
    for _ in range(draw(st.integers(0, 3))):
        values = {k: draw(attr) for k in ("type", "dev", "mac", "bridge", "mtu")}
        nic = etree.SubElement(devices, "interface",
                               {"type": values["type"]} if values["type"] else {})
        for tag, key, name in (("target", "dev", "dev"), ("mac", "mac", "address"),
                               ("source", "bridge", "bridge"), ("mtu", "mtu", "size")):
            if values[key] is not None:
                etree.SubElement(nic, tag, {name: values[key]})
        want["interfaces"].append(values)
    return etree.tostring(root, encoding="unicode"), want


@given(domains())
def test_device_fields_are_read_as_written(case: tuple[str, dict]) -> None:
    text, want = case
    if len(text.encode("utf-8")) > metadata.MAX_XML_BYTES:
        record = domain_reader.record_from_xml(text, "u-1")
        assert record.problem and record.description is None
        return
    record = domain_reader.record_from_xml(text, "u-1")
    assert record.problem is None
    assert record.tenancy.project_id == want["project_id"]
    description = record.description
    assert description is not None and description.xml == text
    assert len(description.disks) == len(want["disks"])
    for disk, values in zip(description.disks, want["disks"], strict=True):
        assert disk.target == (values["dev"] or None)
        assert disk.bus == (values["bus"] or None)
        assert disk.device == (values["device"] or None)
        serial = (values["serial"] or "").strip() or None
        assert disk.serial == serial
        if values["type"] != "volume":
            assert disk.source == (values["file"] or None)
    for nic, values in zip(description.interfaces, want["interfaces"], strict=True):
        assert nic.target == (values["dev"] or None)
        assert nic.mac == (values["mac"] or None)
        assert nic.bridge == (values["bridge"] or None)
        assert nic.mtu is None or isinstance(nic.mtu, int)


@given(any_text)
@example("\ud800")
@example("<domain><devices><disk><target dev='vda'/></disk></devices></domain>")
@example("<domain><metadata><instance xmlns='urn:evil'><owner><project uuid='p'/></owner>"
         "</instance></metadata></domain>")
def test_any_text_gives_a_record(text: str) -> None:
    record = domain_reader.record_from_xml(text, "u-1")
    assert isinstance(record.tenancy, model.Tenancy)
    if record.description is None:
        assert record.problem
    assert record.tenancy.project_id is None or "<domain" in text
