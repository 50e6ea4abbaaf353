"""The ``inovex`` profile: the names and labels of inovex/prometheus-libvirt-exporter 2.x.

As its README's metric table lists them: ``domain`` is the libvirt name,
device labels are ``target_device``, there is no ``uuid`` label (join on
``domain``). Our tenant labels still follow ``domain`` on every per-VM
series ([prometheus] tenant_labels; an empty list gives its label sets
exactly). Units are base units throughout, also where inovex's code
exports milliseconds under a ``_seconds`` name (job times).

Not provided: ``libvirt_storage_pool_*`` (per-pool libvirt calls; use
node-level storage monitoring) and the README's stale ``host`` label on two
block families (its code no longer sets it; Prometheus adds ``instance``).
"""

from __future__ import annotations

from types import MappingProxyType

from enricher.exporters.catalog import GAUGE
from enricher.exporters.profiles.model import Derived, Mapped, Profile

# libvirt's virDomainState, as inovex describes it in state_desc.
STATE_DESC = MappingProxyType({
    "nostate": "no state",
    "running": "the domain is running",
    "blocked": "the domain is blocked on resource",
    "paused": "the domain is paused by user",
    "shutdown": "the domain is being shut down",
    "shutoff": "the domain is shut off",
    "crashed": "the domain is crashed",
    "pmsuspended": "the domain is suspended by guest power management",
})

_BLOCK = "libvirt_domain_block_stats_"
_NET = "libvirt_domain_interface_stats_"
_MEM = "libvirt_domain_memory_stats_"
_JOB = "libvirt_domain_job_"
_BACKGROUND = MappingProxyType({"kind": "background"})


def _m(key: str, name: str = "", **kw: object) -> Mapped:
    return Mapped(key, name or key, **kw)  # type: ignore[arg-type]


def _job(key: str, name: str) -> Mapped:
    """A job figure of [DEFAULT] extra_stats job_stats_background, without its kind."""
    return Mapped("libvirt_domain_job_" + key, _JOB + name, where=_BACKGROUND)


FAMILIES = (
    _m("libvirt_up"),
    Derived("libvirt_domains", GAUGE, "Number of domains.", "domains", per_vm=False),
    Derived("libvirt_domain_timed_out", GAUGE,
            "Whether collecting the domain's statistics timed out (always 0: the "
            "enricher's one bulk call does not wait on a busy domain).", "timed_out"),
    _m("libvirt_domain_openstack_info",
       labels=MappingProxyType({"uuid": "instance_id", "flavor": "flavor_name"}),
       keep=("domain", "instance_name", "instance_id", "flavor_name", "user_name",
             "user_id", "project_name", "project_id")),
    Derived("libvirt_domain_info", GAUGE,
            "The domain's OS type, machine and architecture as labels (always 1).",
            "os_info", ("os_type", "os_type_machine", "os_type_arch")),
    _m("libvirt_domain_info_state",
       labels=MappingProxyType({"state": "state_desc"}),
       values=MappingProxyType({"state": STATE_DESC})),
    _m("libvirt_domain_info_memory_bytes", "libvirt_domain_info_maximum_memory_bytes"),
    _m("libvirt_domain_memory_usage_bytes", "libvirt_domain_info_memory_usage_bytes"),
    _m("libvirt_domain_info_vcpus", "libvirt_domain_info_virtual_cpus"),
    _m("libvirt_domain_cpu_time_seconds_total", "libvirt_domain_info_cpu_time_seconds_total"),
    # inovex exports the swap figures as gauges.
    _m("libvirt_domain_memory_swap_in_bytes_total", _MEM + "swap_in_bytes", type=GAUGE),
    _m("libvirt_domain_memory_swap_out_bytes_total", _MEM + "swap_out_bytes", type=GAUGE),
    _m("libvirt_domain_memory_unused_bytes", _MEM + "unused_bytes"),
    _m("libvirt_domain_memory_available_bytes", _MEM + "available_bytes"),
    _m("libvirt_domain_memory_usable_bytes", _MEM + "usable_bytes"),
    _m("libvirt_domain_memory_rss_bytes", _MEM + "rss_bytes"),
    Derived(_BLOCK + "info", GAUGE,
            "A block device of the domain, from its XML: type, bus, driver, cache, "
            "source and serial (the Cinder volume id of volume-backed disks), always 1.",
            "inovex_block_info",
            ("disk_type", "driver_cache", "driver_discard", "driver_name", "driver_type",
             "serial", "source_file", "target_bus", "target_device")),
    Derived(_MEM + "used_percent", GAUGE,
            "Memory used by the guest, in percent of what it sees as available "
            "(100 * (available - usable) / available).", "used_percent"),
    _m("libvirt_domain_memory_balloon_current_bytes", _MEM + "current_balloon_bytes"),
    _m("libvirt_domain_memory_major_faults_total", _MEM + "major_fault_total"),
    _m("libvirt_domain_memory_minor_faults_total", _MEM + "minor_fault_total"),
    _m("libvirt_domain_block_read_bytes_total", _BLOCK + "read_bytes_total"),
    _m("libvirt_domain_block_read_requests_total", _BLOCK + "read_requests_total"),
    _m("libvirt_domain_block_write_bytes_total", _BLOCK + "write_bytes_total"),
    _m("libvirt_domain_block_write_requests_total", _BLOCK + "write_requests_total"),
    _m("libvirt_domain_block_read_time_seconds_total", _BLOCK + "read_time_seconds_total"),
    _m("libvirt_domain_block_write_time_seconds_total",
       _BLOCK + "write_time_seconds_total"),
    _m("libvirt_domain_block_flush_requests_total", _BLOCK + "flush_requests_total"),
    _m("libvirt_domain_block_flush_time_seconds_total",
       _BLOCK + "flush_time_seconds_total"),
    _m("libvirt_domain_block_capacity_bytes", _BLOCK + "capacity_bytes"),
    Derived(_NET + "info", GAUGE,
            "A network interface of the domain, from its XML: type, bridge, MAC, model "
            "and MTU, plus the Neutron port id and its fixed IPs, always 1.",
            "inovex_interface_info",
            ("interface_type", "mac_address", "model_type", "mtu_size", "source_bridge",
             "target_device", "port_id", "fixed_ips"),
            extra_labels=("port_id", "fixed_ips")),
    _m("libvirt_domain_net_receive_bytes_total", _NET + "receive_bytes_total"),
    _m("libvirt_domain_net_receive_packets_total", _NET + "receive_packets_total"),
    _m("libvirt_domain_net_receive_errors_total", _NET + "receive_errors_total"),
    _m("libvirt_domain_net_receive_drops_total", _NET + "receive_drops_total"),
    _m("libvirt_domain_net_transmit_bytes_total", _NET + "transmit_bytes_total"),
    _m("libvirt_domain_net_transmit_packets_total", _NET + "transmit_packets_total"),
    _m("libvirt_domain_net_transmit_errors_total", _NET + "transmit_errors_total"),
    _m("libvirt_domain_net_transmit_drops_total", _NET + "transmit_drops_total"),
    # Only with [DEFAULT] extra_stats job_stats_background, and only while a job runs.
    Derived(_JOB + "type", GAUGE,
            "Type of the domain's job as libvirt's virDomainJobType code (0 none, "
            "1 bounded, 2 unbounded, 3 completed, 4 failed, 5 cancelled).", "job_type"),
    _job("time_elapsed_seconds", "time_elapsed_seconds"),
    _job("time_remaining_seconds", "time_remaining_seconds"),
    _job("data_total_bytes", "data_total_bytes"),
    _job("data_processed_bytes", "data_processed_bytes"),
    _job("data_remaining_bytes", "data_remaining_bytes"),
    _job("memory_total_bytes", "mem_total_bytes"),
    _job("memory_processed_bytes", "mem_processed_bytes"),
    _job("memory_remaining_bytes", "mem_remaining_bytes"),
    _job("disk_total_bytes", "file_total_bytes"),
    _job("disk_processed_bytes", "file_processed_bytes"),
    _job("disk_remaining_bytes", "file_remaining_bytes"),
    _m("libvirt_domain_info_vcpus", "libvirt_domain_vcpu_current"),
    _m("libvirt_domain_vcpu_delay_seconds_total"),
    _m("libvirt_domain_info_maximum_vcpus", "libvirt_domain_vcpu_maximum"),
    _m("libvirt_domain_vcpu_state"),
    _m("libvirt_domain_vcpu_time_seconds_total"),
    _m("libvirt_domain_vcpu_wait_seconds_total"),
)

PROFILE = Profile(
    name="inovex",
    description="inovex/prometheus-libvirt-exporter 2.x names and labels "
                "(Kolla-Ansible, OpenStack-Helm dashboards).",
    families=FAMILIES,
    domain_labels=("domain",),
    label_renames=MappingProxyType({"device": "target_device",
                                    "interface": "target_device"}),
)
