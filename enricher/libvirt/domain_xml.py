"""Read a domain's XML description: one call, with no secrets in it.

Only the libvirt call is here; ``enricher.tenancy.domain_reader`` parses it.
"""

from __future__ import annotations

from typing import Any

from enricher.libvirt import errors

# No VIR_DOMAIN_XML_SECURE: graphics passwords and other secrets stay out,
# and a read-only connection is enough.
_FLAGS = 0


def read_domain_xml(dom: Any) -> str:
    """The domain's live XML (its persistent one when it is shut off).

    Raises the project's LibvirtError when the call fails.
    """
    with errors.translated():
        return dom.XMLDesc(_FLAGS)
