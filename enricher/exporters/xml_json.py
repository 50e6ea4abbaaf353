"""A lossless mapping of a domain's XML to JSON, and back (``/api/v1.0/specs``).

The mapping (documented in doc/source/api.rst):

- the document is ``{root tag: element}``;
- an element is an object: ``"@name"`` per attribute (its value a string),
  ``"#text"`` for its text, and one key per child tag, in the order the tags
  first appear. A tag that occurs once maps to an object, a repeated tag to
  a list of objects in document order;
- if children of different tags interleave (``<a/><b/><a/>``), ``"#order"``
  lists the child tags in document order, so that the order is kept;
- names keep their prefix (``nova:instance``); a namespace declaration is
  the attribute ``"@xmlns:prefix"`` (``"@xmlns"`` for the default one) on
  the element that declares it;
- text that is only whitespace between elements (indentation) is not kept;
  text after a child element (mixed content, which libvirt's schema does
  not have) is appended to ``"#tail"`` of that child. Comments and
  processing instructions are dropped by the hardened parser.

``to_json(xml)`` and ``from_json(obj)`` round-trip: parsing the result of
``from_json`` gives back the same elements, attributes, text and order.
Values are never converted (``"1024"`` stays a string): lossless first.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from enricher.tenancy.metadata import parse_xml

ORDER = "#order"
TEXT = "#text"
TAIL = "#tail"


def _qualified(name: str, nsmap: dict[str | None, str]) -> str:
    """``{uri}local`` as ``prefix:local`` with the element's namespace map."""
    if not name.startswith("{"):
        return name
    uri, local = name[1:].split("}", 1)
    for prefix, value in nsmap.items():
        if value == uri:
            return local if prefix is None else "%s:%s" % (prefix, local)
    return name  # an undeclared namespace cannot happen in parsed XML


def _element(element: etree._Element, parent_ns: dict[str | None, str]) -> dict[str, Any]:
    nsmap = dict(element.nsmap)
    out: dict[str, Any] = {}
    for prefix, uri in nsmap.items():
        if parent_ns.get(prefix) != uri:
            out["@xmlns" if prefix is None else "@xmlns:" + prefix] = uri
    for name, value in element.attrib.items():
        out["@" + _qualified(name, nsmap)] = value
    if element.text is not None and (element.text.strip() or not len(element)):
        out[TEXT] = element.text
    order: list[str] = []
    for child in element:
        if not isinstance(child.tag, str):
            continue
        tag = _qualified(child.tag, dict(child.nsmap))
        value = _element(child, nsmap)
        if child.tail is not None and child.tail.strip():
            value[TAIL] = child.tail
        order.append(tag)
        if tag in out:
            if not isinstance(out[tag], list):
                out[tag] = [out[tag]]
            out[tag].append(value)
        else:
            out[tag] = value
    grouped = list(dict.fromkeys(order))
    expanded = [t for t in grouped for _ in range(order.count(t))]
    if expanded != order:
        out[ORDER] = order
    return out


def element_to_json(root: etree._Element) -> dict[str, Any]:
    return {_qualified(root.tag, dict(root.nsmap)): _element(root, {})}


def to_json(xml: str | bytes) -> dict[str, Any]:
    """The JSON form of an XML document (parsed with the hardened parser)."""
    return element_to_json(parse_xml(xml))


def _build(tag: str, obj: dict[str, Any], parent: etree._Element | None,
           parent_ns: dict[str | None, str]) -> etree._Element:
    declared = {None if k == "@xmlns" else k[len("@xmlns:"):]: v
                for k, v in obj.items() if k == "@xmlns" or k.startswith("@xmlns:")}
    nsmap = {**parent_ns, **declared}

    def clark(name: str, attribute: bool = False) -> str:
        prefix, sep, local = name.rpartition(":")
        if sep:
            return "{%s}%s" % (nsmap[prefix], local)
        if not attribute and None in nsmap:
            return "{%s}%s" % (nsmap[None], name)
        return name

    if parent is None:
        element = etree.Element(clark(tag), nsmap=declared or None)
    else:
        element = etree.SubElement(parent, clark(tag), nsmap=declared or None)
    for key, value in obj.items():
        if key.startswith("@") and not (key == "@xmlns" or key.startswith("@xmlns:")):
            element.set(clark(key[1:], attribute=True), value)
    if TEXT in obj:
        element.text = obj[TEXT]
    children = [k for k in obj if not k.startswith(("@", "#"))]
    order = obj.get(ORDER) or [t for t in children
                               for _ in range(len(obj[t]) if isinstance(obj[t], list)
                                              else 1)]
    taken = {t: 0 for t in children}
    for tag in order:
        value = obj[tag]
        if isinstance(value, list):
            value = value[taken[tag]]
        taken[tag] += 1
        child = _build(tag, value, element, nsmap)
        if TAIL in value:
            child.tail = value[TAIL]
    return element


def from_json(obj: dict[str, Any]) -> bytes:
    """The XML document of a ``to_json`` result."""
    (tag, value), = obj.items()
    return etree.tostring(_build(tag, value, None, {}), encoding="utf-8")
