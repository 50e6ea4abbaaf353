"""libvirt's constants that code outside ``enricher/libvirt/`` needs, as plain values.

A flag this libvirt-python lacks is None; all are None or their documented
default without libvirt-python.
"""

from __future__ import annotations

from enricher.libvirt.binding import libvirt


def _constant(name: str, default: int | None = None) -> int | None:
    return getattr(libvirt, name, default) if libvirt is not None else default


# virDomainStatsTypes groups asked for one domain at a time (extra statistics).
STATS_DIRTYRATE = _constant("VIR_DOMAIN_STATS_DIRTYRATE")
STATS_MEMORY = _constant("VIR_DOMAIN_STATS_MEMORY")
# virDomainGetJobStatsFlags: the last completed job instead of the running one.
JOB_STATS_COMPLETED = _constant("VIR_DOMAIN_JOB_STATS_COMPLETED", 1)
