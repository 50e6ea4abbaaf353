"""One stats group for one domain: ``virDomainListGetStats`` on a single-domain list."""

from __future__ import annotations

from typing import Any

from enricher.extra.base import NotReported
from enricher.libvirt.connection import libvirt


def domain_group_stats(dom: Any, flag_name: str) -> dict[str, Any]:
    """The typed parameters of one VIR_DOMAIN_STATS_* group for ``dom``.

    NotReported("unsupported") when this libvirt lacks the group or the
    driver returns none of its keys.
    """
    flag = getattr(libvirt, flag_name, None)
    if flag is None:
        raise NotReported("unsupported", "libvirt-python has no %s" % flag_name)
    records = dom.connect().domainListGetStats([dom], flag)
    stats = dict(records[0][1]) if records else {}
    if not stats:
        raise NotReported("unsupported", "no %s data for the domain" % flag_name)
    return stats
