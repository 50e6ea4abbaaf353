"""The ``seed`` profile: the catalog's own names (the seed design's libvirt-exporter table).

Every family is rendered as the catalog declares it, so the exposition is
byte for byte what it was before profiles existed; [prometheus] device_info
adds the per-disk and per-NIC info families.
"""

from __future__ import annotations

from enricher.exporters import catalog
from enricher.exporters.profiles.model import Derived, Profile


def _devices(name: str, derive: str) -> Derived:
    spec = catalog.get(name)
    return Derived(spec.name, spec.type, spec.help, derive, spec.labels)


PROFILE = Profile(
    name="seed",
    description="The catalog's names: the seed design's libvirt-exporter table, with "
                "domain and uuid labels (the default).",
    families=None,
    # [prometheus] device_info: off by default, so that the default bytes stay as they were.
    optional=(_devices("libvirt_domain_block_info", "block_info"),
              _devices("libvirt_domain_interface_info", "interface_info")),
)
