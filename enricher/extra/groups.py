"""One stats group for one domain: ``virDomainListGetStats`` on a single-domain list."""

from __future__ import annotations

from typing import Any

from enricher.extra.base import NotReported


def domain_group_stats(dom: Any, flag: int | None, group: str) -> dict[str, Any]:
    """The typed parameters of one stats group (``flag``, from
    ``enricher.libvirt.constants``) for ``dom``.

    NotReported("unsupported") when this libvirt lacks the group (``flag``
    is None) or the driver returns none of its keys.
    """
    if flag is None:
        raise NotReported("unsupported", "libvirt-python has no %s stats group" % group)
    records = dom.connect().domainListGetStats([dom], flag)
    stats = dict(records[0][1]) if records else {}
    if not stats:
        raise NotReported("unsupported", "no %s stats for the domain" % group)
    return stats
