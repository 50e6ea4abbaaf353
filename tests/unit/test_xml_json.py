"""The XML -> JSON mapping of /api/v1.0/specs round-trips: elements, attributes, text, order."""

from __future__ import annotations

import pathlib

import pytest
from lxml import etree

from enricher.exporters import xml_json
from tests import fixtures

DOMAIN_XML = sorted(p for p in fixtures.DOMAIN_XML.glob("*.xml")
                    if "not-wellformed" not in p.name and p.name != "test-node.xml")
DEMO = pathlib.Path(__file__).resolve().parents[2] / "enricher" / "demo" / "demo-node.xml"


def canonical(element: etree._Element) -> tuple:
    """Tag, attributes, text and children; whitespace-only text between elements ignored."""
    text = element.text if element.text and (element.text.strip() or not len(element)) \
        else None
    tail = element.tail if element.tail and element.tail.strip() else None
    return (element.tag, sorted(element.attrib.items()), text, tail,
            [canonical(c) for c in element if isinstance(c.tag, str)])


def round_trip(xml: bytes) -> None:
    back = xml_json.from_json(xml_json.to_json(xml))
    assert canonical(etree.fromstring(back)) == canonical(etree.fromstring(xml))
    assert xml_json.to_json(back) == xml_json.to_json(xml)


@pytest.mark.parametrize("path", DOMAIN_XML, ids=lambda p: p.name)
def test_fixture_domains_round_trip(path: pathlib.Path) -> None:
    round_trip(path.read_bytes())


def test_every_domain_of_the_demo_node_round_trips() -> None:
    node = etree.parse(str(DEMO)).getroot()
    domains = node.findall("domain")
    assert len(domains) >= 5
    for domain in domains:
        round_trip(etree.tostring(domain))


def test_the_mapping_as_documented() -> None:
    xml = (b'<domain type="kvm"><name>vm</name><memory unit="KiB">1024</memory>'
           b'<devices><disk device="disk"/><interface type="bridge"/><disk device="cdrom"/>'
           b'</devices><metadata><nova:instance xmlns:nova="urn:nova"><nova:name>a &amp; b'
           b'</nova:name></nova:instance></metadata><e>mixed<b/>tail</e></domain>')
    assert xml_json.to_json(xml) == {"domain": {
        "@type": "kvm",
        "name": {"#text": "vm"},
        "memory": {"@unit": "KiB", "#text": "1024"},
        "devices": {"disk": [{"@device": "disk"}, {"@device": "cdrom"}],
                    "interface": {"@type": "bridge"},
                    "#order": ["disk", "interface", "disk"]},
        "metadata": {"nova:instance": {"@xmlns:nova": "urn:nova",
                                       "nova:name": {"#text": "a & b"}}},
        "e": {"#text": "mixed", "b": {"#tail": "tail"}},
    }}
    round_trip(xml)


@pytest.mark.parametrize("xml", [
    b'<a xmlns="urn:default"><b><c x="1"/></b></a>',
    b'<a xmlns:p="urn:p" p:attr="v"><p:b p:c="d">t</p:b></a>',
    b'<a><b/><c/><b/><c/></a>',
    b'<a>  <b> keep  </b></a>',
    b'<a>&lt;&quot;&#x1F600;</a>',
])
def test_edge_cases_round_trip(xml: bytes) -> None:
    round_trip(xml)


def test_interleaving_is_kept_only_when_needed() -> None:
    assert "#order" not in xml_json.to_json(b"<a><b/><b/><c/></a>")["a"]
    assert xml_json.to_json(b"<a><b/><c/><b/></a>")["a"]["#order"] == ["b", "c", "b"]
