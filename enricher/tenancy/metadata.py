"""Parse the ``nova:instance`` element Nova writes into a domain's metadata.

The element comes as ``virDomainGetMetadata()`` returns it (libvirt strips
the namespace) or as it stands in a domain XML (in a Nova namespace, under
any prefix). Children are matched on their local name within the element's
own namespace, so a prefixed, namespaced element parses the same and
elements of another namespace inside it are ignored; an ``instance`` element
of a foreign namespace is malformed.
"""

from __future__ import annotations

from lxml import etree

from enricher import exceptions
from enricher.tenancy import model

# A real nova:instance element is a few KiB; a domain XML tens of KiB.
MAX_XML_BYTES = 1024 * 1024

# None: as virDomainGetMetadata() returns it, namespace stripped.
NOVA_NAMESPACES = (None, "http://openstack.org/xmlns/libvirt/nova/1.1",
                   "http://openstack.org/xmlns/libvirt/nova/1.0")


def _parser() -> etree.XMLParser:
    """A parser that expands no entity, loads no DTD and touches no network."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_xml(text: str | bytes) -> etree._Element:
    """Parse untrusted XML safely; raise MetadataMalformed on any problem."""
    try:
        data = text.encode("utf-8") if isinstance(text, str) else text
    except UnicodeEncodeError as exc:  # a lone surrogate: not text XML can hold
        raise exceptions.MetadataMalformed("XML is not valid Unicode: %s" % exc) from None
    if len(data) > MAX_XML_BYTES:
        raise exceptions.MetadataMalformed(
            "XML of %d bytes exceeds the %d byte limit" % (len(data), MAX_XML_BYTES))
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise exceptions.MetadataMalformed("XML is not well-formed: %s" % exc) from exc
    if root is None:
        raise exceptions.MetadataMalformed("XML document is empty")
    if root.getroottree().docinfo.internalDTD is not None:
        raise exceptions.MetadataMalformed("XML with a DTD is not accepted")
    return root


def _local(element: etree._Element) -> str:
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return etree.QName(tag).localname


def _namespace(element: etree._Element) -> str | None:
    return etree.QName(element.tag).namespace


def _children(parent: etree._Element | None, name: str) -> list[etree._Element]:
    """Children of ``parent`` named ``name`` in ``parent``'s own namespace."""
    if parent is None:
        return []
    namespace = _namespace(parent)
    return [child for child in parent
            if _local(child) == name and _namespace(child) == namespace]


def _child(parent: etree._Element | None, name: str) -> etree._Element | None:
    found = _children(parent, name)
    return found[0] if found else None


def _text(element: etree._Element | None) -> str | None:
    """Element text exactly as written; None when absent or empty."""
    if element is None or element.text is None or element.text == "":
        return None
    return element.text


def _owner_name(element: etree._Element | None) -> str | None:
    name = _text(element)
    return None if name == model.UNKNOWN_NAME else name


def _int(element: etree._Element | None, what: str) -> int | None:
    text = _text(element)
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        raise exceptions.MetadataMalformed(
            "%s is not an integer: %r" % (what, text)) from None


def _attr(element: etree._Element | None, name: str) -> str | None:
    if element is None:
        return None
    return element.get(name)


def _ports(element: etree._Element | None) -> tuple[model.Port, ...]:
    ports = []
    for port in _children(element, "port"):
        uuid = port.get("uuid")
        if not uuid:
            raise exceptions.MetadataMalformed("nova:port without uuid")
        ips = tuple(
            model.FixedIP(address=ip.get("address", ""), version=ip.get("ipVersion"),
                          type=ip.get("type"))
            for ip in _children(port, "ip") if ip.get("address"))
        ports.append(model.Port(uuid=uuid, ips=ips))
    return tuple(ports)


def tenancy_from_element(instance: etree._Element, domain_uuid: str | None = None
                         ) -> model.Tenancy:
    """Build a Tenancy from a ``nova:instance`` element (either shape).

    ``domain_uuid`` is the libvirt domain UUID, which Nova sets to the
    instance UUID. Fields that are absent, empty or ``N/A`` are unknown.
    """
    if _local(instance) != "instance":
        raise exceptions.MetadataMalformed(
            "expected a nova:instance element, got %r" % _local(instance))
    if _namespace(instance) not in NOVA_NAMESPACES:
        raise exceptions.MetadataMalformed(
            "an instance element of the foreign namespace %r" % _namespace(instance))
    flavor = _child(instance, "flavor")
    owner = _child(instance, "owner")
    user = _child(owner, "user")
    project = _child(owner, "project")
    root = _child(instance, "root")
    image = _child(instance, "image")
    package = _child(instance, "package")
    return model.Tenancy(
        instance_uuid=domain_uuid,
        instance_name=_text(_child(instance, "name")),
        project_id=_attr(project, "uuid") or None,
        project_name=_owner_name(project),
        user_id=_attr(user, "uuid") or None,
        user_name=_owner_name(user),
        flavor=_attr(flavor, "name"),
        flavor_id=_attr(flavor, "id"),
        flavor_vcpus=_int(_child(flavor, "vcpus"), "flavor vcpus"),
        flavor_ram_mb=_int(_child(flavor, "memory"), "flavor memory"),
        flavor_disk_gb=_int(_child(flavor, "disk"), "flavor disk"),
        image_id=_attr(image, "uuid"),
        root_type=_attr(root, "type"),
        root_id=_attr(root, "uuid"),
        package_version=_attr(package, "version"),
        ports=_ports(_child(instance, "ports")),
        source=model.SOURCE_METADATA,
    )


def tenancy_from_metadata(text: str | bytes, domain_uuid: str | None = None
                          ) -> model.Tenancy:
    """Parse what ``virDomainGetMetadata()`` returned (namespace stripped)."""
    return tenancy_from_element(parse_xml(text), domain_uuid)
