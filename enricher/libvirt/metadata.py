"""Read the ``nova:instance`` element Nova writes into a domain's metadata.

Only the libvirt call is here; ``enricher.tenancy.metadata`` parses the text.
"""

from __future__ import annotations

from typing import Any

from enricher import exceptions
from enricher.libvirt import errors
from enricher.libvirt.binding import libvirt

NOVA_NS_1_1 = "http://openstack.org/xmlns/libvirt/nova/1.1"
NOVA_NS_1_0 = "http://openstack.org/xmlns/libvirt/nova/1.0"
# Preferred first: Nova rewrites only the 1.1 element after an upgrade.
NOVA_NAMESPACES = (NOVA_NS_1_1, NOVA_NS_1_0)

_ELEMENT = getattr(libvirt, "VIR_DOMAIN_METADATA_ELEMENT", 2)


def read_nova_metadata(dom: Any) -> str:
    """The text of a domain's ``nova:instance`` element (1.1 preferred, then 1.0).

    Raises MetadataMissing when neither namespace is present (not a Nova VM,
    yet), and the project's LibvirtError when the call fails.
    """
    for namespace in NOVA_NAMESPACES:
        try:
            with errors.translated():
                return dom.metadata(_ELEMENT, namespace, 0)
        except exceptions.NoDomainMetadata:
            continue
    raise exceptions.MetadataMissing("no nova:instance metadata")
