"""Property tests of the nova:instance parser: hostile values in every field.

Values a tenant chooses (instance name, and the names an operator lets
tenants pick) reach the parser through Nova. Whatever they hold, the parser
returns each field exactly as written, or raises MetadataMalformed (which the
resolver skips and counts); it never raises anything else.
"""

from __future__ import annotations

import string

from hypothesis import assume, example, given
from hypothesis import strategies as st
from lxml import etree

from enricher import exceptions
from enricher.tenancy import metadata, model

NOVA_NS = "http://openstack.org/xmlns/libvirt/nova/1.1"

# Strings that look like PromQL, exposition text, shell, XML or JSON.
HOSTILE = (
    '"', "\\", "\n", "\r\n", "\t", "'", "N/A", "", " ", "\\n", '\\"', "}", "{",
    'a"} 1\nlibvirt_up 0\n# HELP x', '{project_id="other"}', 'up{job=~".+"} or vector(1)',
    "${jndi:ldap://x}", "$(reboot)", "]]>", "<![CDATA[x]]>", "&amp;", "&#0;", "--",
    '{"a": [1, 2]}', "\u202e\u200b\ufeff", "\U0001f600", "\u0000", "\x1b[31m", "é",
)


def _xml_char(c: str) -> bool:
    """XML 1.0's Char production: what an element or attribute can carry at all."""
    o = ord(c)
    return (o in (0x9, 0xA, 0xD) or 0x20 <= o <= 0xD7FF or 0xE000 <= o <= 0xFFFD
            or 0x10000 <= o <= 0x10FFFF)


xml_chars = st.characters(codec="utf-8").filter(_xml_char)
# Mostly short, sometimes very long (a tenant may paste a book into a name).
long_text = st.integers(10_000, 200_000).map(lambda n: ("x\"\\\n" * (n // 4 + 1))[:n])
xml_value = st.one_of(
    st.text(xml_chars, max_size=40),
    st.sampled_from(HOSTILE).filter(lambda s: all(map(_xml_char, s))),
    st.lists(st.sampled_from([h for h in HOSTILE if all(map(_xml_char, h))]),
             max_size=6).map("".join),
    long_text,
)
optional = st.none() | xml_value
integer = st.integers(-(10**12), 10**12)
any_text = st.text(st.characters(), max_size=200)  # surrogates and NUL included


@st.composite
def instances(draw: st.DrawFn) -> tuple[bytes, dict]:
    """A nova:instance element, serialised by lxml (so escaped), and what it holds."""
    ns = draw(st.sampled_from([None, NOVA_NS]))
    prefix = draw(st.sampled_from(["nova", "n", "evil", None]))
    nsmap = {prefix: ns} if ns else None

    def el(parent: etree._Element | None, local: str, **attrs: str | None
           ) -> etree._Element:
        tag = "{%s}%s" % (ns, local) if ns else local
        kept = {k: v for k, v in attrs.items() if v is not None}
        if parent is None:
            return etree.Element(tag, kept, nsmap=nsmap)
        return etree.SubElement(parent, tag, kept)

    want: dict = {}
    root = el(None, "instance")
    want["instance_name"] = draw(optional)
    if want["instance_name"] is not None:
        el(root, "name").text = want["instance_name"]
    want["package_version"] = draw(optional)
    el(root, "package", version=want["package_version"])
    flavor_name, flavor_id = draw(optional), draw(optional)
    flavor = el(root, "flavor", name=flavor_name, id=flavor_id)
    want["flavor"], want["flavor_id"] = flavor_name, flavor_id
    for field, child in (("flavor_vcpus", "vcpus"), ("flavor_ram_mb", "memory"),
                         ("flavor_disk_gb", "disk")):
        want[field] = draw(st.none() | integer)
        if want[field] is not None:
            pad = draw(st.sampled_from(["", " ", "\n  "]))
            el(flavor, child).text = pad + str(want[field]) + pad
    owner = el(root, "owner")
    for who in ("user", "project"):
        ident, name = draw(optional), draw(optional)
        node = el(owner, who, uuid=ident)
        if name is not None:
            node.text = name
        want[who + "_id"] = ident or None
        want[who + "_name"] = None if name in ("", model.UNKNOWN_NAME) else name
    want["image_id"] = draw(optional)
    el(root, "image", uuid=want["image_id"])
    want["root_type"], want["root_id"] = draw(optional), draw(optional)
    el(root, "root", type=want["root_type"], uuid=want["root_id"])
    ports = el(root, "ports")
    want["ports"] = []
    for _ in range(draw(st.integers(0, 3))):
        uuid = draw(xml_value.filter(bool))
        port = el(ports, "port", uuid=uuid)
        ips = []
        for address in draw(st.lists(xml_value, max_size=3)):
            el(port, "ip", type="fixed", address=address, ipVersion="4")
            if address:
                ips.append(address)
        want["ports"].append((uuid, ips))
    if want["instance_name"] == "":
        want["instance_name"] = None  # element text: empty is unknown (attributes are kept)
    return etree.tostring(root, encoding="utf-8"), want


@given(instances())
def test_every_field_is_read_back_exactly_as_written(case: tuple[bytes, dict]) -> None:
    data, want = case
    assume(len(data) <= metadata.MAX_XML_BYTES)
    tenancy = metadata.tenancy_from_metadata(data, "u-1")
    got = {f: getattr(tenancy, f) for f in want if f != "ports"}
    assert got == {f: v for f, v in want.items() if f != "ports"}
    assert [(p.uuid, [ip.address for ip in p.ips]) for p in tenancy.ports] == want["ports"]
    assert tenancy.source == model.SOURCE_METADATA
    # Whatever was read becomes a label value without error.
    for field in model.LABEL_FIELDS:
        assert isinstance(tenancy.label_value(field), str)


def _parse_or_malformed(text: str | bytes) -> model.Tenancy | None:
    try:
        return metadata.tenancy_from_metadata(text)
    except exceptions.MetadataMalformed:
        return None


@given(any_text)
@example("\ud800")  # a lone surrogate: not encodable, must still be "malformed"
@example("<instance>\x00</instance>")
def test_arbitrary_text_is_a_tenancy_or_malformed(text: str) -> None:
    _parse_or_malformed(text)


@given(st.binary(max_size=300))
@example(b"\xef\xbb\xbf<instance/>")
@example(b"<?xml version='1.0' encoding='utf-16'?><instance/>")
@example(b"\xff\xfe<\x00i\x00/\x00>\x00")
def test_arbitrary_bytes_are_a_tenancy_or_malformed(data: bytes) -> None:
    _parse_or_malformed(data)


@given(st.sampled_from(["name", "owner/user", "owner/project", "flavor/vcpus"]),
       st.one_of(any_text, st.sampled_from(HOSTILE)))
def test_unescaped_hostile_text_in_any_field_is_a_tenancy_or_malformed(
        where: str, value: str) -> None:
    """The value pasted in raw: markup, quotes, control characters, broken entities."""
    opening = "".join("<%s>" % p for p in where.split("/"))
    closing = "".join("</%s>" % p for p in reversed(where.split("/")))
    tenancy = _parse_or_malformed("<instance>%s%s%s</instance>" % (opening, value, closing))
    if tenancy is not None and where == "name" and not set(value) & set("<&\r"):
        assert tenancy.instance_name == (value or None)


@given(st.sampled_from(["uuid", "name", "id", "version"]),
       st.text(st.characters(), max_size=60))
def test_unescaped_hostile_attribute_is_a_tenancy_or_malformed(attr: str, value: str
                                                               ) -> None:
    for quote in "\"'":
        _parse_or_malformed("<instance><flavor %s=%s%s%s/><owner><project %s=%s%s%s/>"
                            "</owner></instance>"
                            % (attr, quote, value, quote, attr, quote, value, quote))


@given(st.text(string.digits + " +-_\n\u0661\u0662", max_size=30) | any_text)
def test_a_flavor_integer_is_an_int_or_malformed(value: str) -> None:
    element = etree.Element("instance")
    flavor = etree.SubElement(element, "flavor")
    try:
        etree.SubElement(flavor, "vcpus").text = value
    except ValueError:
        return  # not representable in XML at all
    tenancy = _parse_or_malformed(etree.tostring(element))
    if tenancy is not None:
        assert tenancy.flavor_vcpus is None or isinstance(tenancy.flavor_vcpus, int)
