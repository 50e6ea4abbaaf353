"""Which catalog families StatsD can send, and the ones it sends by default.

Sendable: ``libvirt_up`` and every per-VM gauge and counter of the core and
extra statistics, except info series (``*_info``, always 1). The default is
about what vAdvisor sends (state, CPU, vCPU, memory, disk and network I/O),
some 22 lines per domain of two vCPUs, a disk and a NIC, instead of 47.
"""

from __future__ import annotations

from enricher.exporters import catalog

HOST_FAMILIES = ("libvirt_up",)


def sendable(family: catalog.Family) -> bool:
    if family.name in HOST_FAMILIES:
        return True
    return (family.per_vm and family.source in (catalog.CORE, catalog.EXTRA)
            and not family.name.endswith("_info"))


SENDABLE = tuple(f.name for f in catalog.FAMILIES if sendable(f))

DEFAULT_METRICS = (
    "libvirt_up",
    "libvirt_domain_info_state",
    "libvirt_domain_info_vcpus",
    "libvirt_domain_info_memory_bytes",
    "libvirt_domain_memory_usage_bytes",
    "libvirt_domain_memory_rss_bytes",
    "libvirt_domain_cpu_time_seconds_total",
    "libvirt_domain_cpu_user_seconds_total",
    "libvirt_domain_cpu_system_seconds_total",
    "libvirt_domain_vcpu_time_seconds_total",
    "libvirt_domain_block_read_bytes_total",
    "libvirt_domain_block_write_bytes_total",
    "libvirt_domain_block_read_requests_total",
    "libvirt_domain_block_write_requests_total",
    "libvirt_domain_net_receive_bytes_total",
    "libvirt_domain_net_transmit_bytes_total",
    "libvirt_domain_net_receive_packets_total",
    "libvirt_domain_net_transmit_packets_total",
    "libvirt_domain_net_receive_drops_total",
    "libvirt_domain_net_transmit_drops_total",
    "libvirt_domain_net_receive_errors_total",
    "libvirt_domain_net_transmit_errors_total",
    "libvirt_domain_cpu_utilization_ratio",
)
