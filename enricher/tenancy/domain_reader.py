"""Read a domain once: its tenancy and its devices, from one XML description."""

from __future__ import annotations

import dataclasses
from typing import Any

from lxml import etree

from enricher import exceptions
from enricher.libvirt.domain_xml import read_domain_xml
from enricher.libvirt.metadata import NOVA_NAMESPACES
from enricher.tenancy import devices, metadata, model

NO_TENANCY = model.Tenancy(source=model.SOURCE_NONE)  # read, and no usable nova:instance


@dataclasses.dataclass(frozen=True, slots=True)
class DomainRecord:
    """What one read of a domain gave; ``problem`` says why its metadata was not used."""

    tenancy: model.Tenancy
    description: devices.Description | None
    problem: str | None = None


def nova_instance(root: etree._Element) -> etree._Element | None:
    """The ``nova:instance`` element of a ``<domain>`` (1.1 preferred, then 1.0).

    Matched by namespace, whatever the prefix, as libvirt's metadata API does.
    """
    meta = next((c for c in root if c.tag == "metadata"), None)
    if meta is None:
        return None
    for namespace in NOVA_NAMESPACES:
        found = meta.find("{%s}instance" % namespace)
        if found is not None:
            return found
    return None


def record_from_xml(text: str, uuid: str) -> DomainRecord:
    """Parse a domain XML; untrusted metadata gives no tenancy and a ``problem``."""
    try:
        root = metadata.parse_xml(text)
    except exceptions.MetadataMalformed as exc:
        return DomainRecord(NO_TENANCY, None, str(exc))
    instance = nova_instance(root)
    tenancy, problem = NO_TENANCY, None
    if instance is not None:
        try:
            tenancy = metadata.tenancy_from_element(instance, uuid)
        except exceptions.MetadataMalformed as exc:
            problem = str(exc)
    return DomainRecord(tenancy, devices.describe(root, uuid, text, tenancy.ports), problem)


def read_domain(dom: Any) -> DomainRecord:
    """One ``XMLDesc`` call; the project's LibvirtError when it fails."""
    return record_from_xml(read_domain_xml(dom), dom.UUIDString())
