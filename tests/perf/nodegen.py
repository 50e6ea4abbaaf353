"""Generate libvirt test-driver node files with many Nova-tagged domains."""

from __future__ import annotations

import pathlib
import uuid as uuidlib
from xml.sax.saxutils import escape

NOVA_NS_1_1 = "http://openstack.org/xmlns/libvirt/nova/1.1"


def _metadata(index: int, domain_uuid: str) -> str:
    project = "%032x" % (0xA000 + index % 50)
    user = "%032x" % (0xB000 + index % 200)
    return f"""<metadata>
      <nova:instance xmlns:nova="{NOVA_NS_1_1}">
        <nova:package version="32.1.0"/>
        <nova:name>{escape("vm-%05d" % index)}</nova:name>
        <nova:flavor name="m1.small" id="2"><nova:memory>2048</nova:memory>
          <nova:disk>20</nova:disk><nova:vcpus>1</nova:vcpus></nova:flavor>
        <nova:owner>
          <nova:user uuid="{user}">user-{index % 200}</nova:user>
          <nova:project uuid="{project}">project-{index % 50}</nova:project>
        </nova:owner>
        <nova:root type="image" uuid="{domain_uuid}"/>
      </nova:instance>
    </metadata>"""


def domain_uuid(index: int) -> str:
    return str(uuidlib.UUID(int=0x5EED0000_0000_4000_8000_000000000000 + index))


def write_node(path: pathlib.Path, domains: int, without_metadata: int = 0) -> list[str]:
    """Write a node file; the last ``without_metadata`` domains carry none.

    Returns the domain UUIDs in order.
    """
    uuids = []
    parts = ["<node>"]
    for index in range(domains):
        uid = domain_uuid(index)
        uuids.append(uid)
        meta = "" if index >= domains - without_metadata else _metadata(index, uid)
        parts.append(f"""  <domain type='test'>
    <name>instance-{index + 1:08x}</name>
    <uuid>{uid}</uuid>
    {meta}
    <memory unit='KiB'>65536</memory>
    <vcpu placement='static'>1</vcpu>
    <os><type>hvm</type></os>
    <devices/>
  </domain>""")
    parts.append("""  <cpu><mhz>2400</mhz><model>i686</model><active>2</active><nodes>1</nodes>
    <sockets>1</sockets><cores>2</cores><threads>1</threads></cpu>
  <memory>1073741824</memory>
</node>""")
    path.write_text("\n".join(parts) + "\n")
    return uuids
