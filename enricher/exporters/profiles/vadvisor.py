"""The ``vadvisor`` profile: the ``vm_*`` families of vAdvisor's Prometheus endpoint.

As kubevirt/vAdvisor's collector defines them: one ``uuid`` label per VM
(no ``domain``), ``interface`` for NICs, ``device`` for disks and ``cpu``
for vCPUs, CPU times in milliseconds, memory in bytes. Our tenant labels
follow ``uuid`` per [prometheus] tenant_labels (an empty list gives its
label sets exactly), so cAdvisor custom-metrics set-ups keep working.
"""

from __future__ import annotations

from types import MappingProxyType

from enricher.exporters.profiles.model import Mapped, Profile

MS = 1000  # seconds to milliseconds

FAMILIES = (
    # The [api] vm_up (kept at 0 for [api] vm_up_stale_period after a VM went away,
    # as vAdvisor does); with [api] off, 1 for running domains and 0 for the others.
    Mapped("vm_up", "vm_up", fallback="vm_up"),
    Mapped("libvirt_domain_cpu_time_seconds_total", "vm_cpu_milliseconds_total", scale=MS,
           help="Overall VM CPU time in milliseconds."),
    Mapped("libvirt_domain_cpu_system_seconds_total", "vm_cpu_system_milliseconds_total",
           scale=MS, help="Overall VM system CPU time in milliseconds."),
    Mapped("libvirt_domain_cpu_user_seconds_total", "vm_cpu_user_milliseconds_total",
           scale=MS, help="Overall VM user CPU time in milliseconds."),
    Mapped("libvirt_domain_memory_balloon_current_bytes", "vm_memory_bytes",
           help="VM memory (current balloon size) in bytes."),
    Mapped("libvirt_domain_net_receive_bytes_total", "vm_network_receive_bytes_total"),
    Mapped("libvirt_domain_net_receive_packets_total", "vm_network_receive_packets_total"),
    Mapped("libvirt_domain_net_receive_drops_total",
           "vm_network_receive_dropped_packets_total"),
    Mapped("libvirt_domain_net_receive_errors_total", "vm_network_receive_errors_total"),
    Mapped("libvirt_domain_net_transmit_bytes_total", "vm_network_transmit_bytes_total"),
    Mapped("libvirt_domain_net_transmit_packets_total", "vm_network_transmit_packets_total"),
    Mapped("libvirt_domain_net_transmit_drops_total",
           "vm_network_transmit_dropped_packets_total"),
    Mapped("libvirt_domain_net_transmit_errors_total", "vm_network_transmit_errors_total"),
    Mapped("libvirt_domain_block_write_requests_total", "vm_disk_write_requests_total"),
    Mapped("libvirt_domain_block_write_bytes_total", "vm_disk_write_bytes_total"),
    Mapped("libvirt_domain_block_read_requests_total", "vm_disk_read_requests_total"),
    Mapped("libvirt_domain_block_read_bytes_total", "vm_disk_read_bytes_total"),
    Mapped("libvirt_domain_vcpu_time_seconds_total", "vm_vcpu_milliseconds_total", scale=MS,
           help="Overall CPU time on the virtual CPU in milliseconds."),
)

PROFILE = Profile(
    name="vadvisor",
    description="kubevirt/vAdvisor's ``vm_*`` families (cAdvisor custom metrics).",
    families=FAMILIES,
    domain_labels=("uuid",),
    label_renames=MappingProxyType({"vcpu": "cpu"}),
)
