"""The per-VM metric families: names, types, help, units, and where each comes from.

One table, read by the collector and by the metrics reference in the docs.
"""

from __future__ import annotations

import dataclasses

from enricher.extra import catalog as _extra
from enricher.extra import exposition as _extra_exposition

GAUGE = "gauge"
COUNTER = "counter"

NS = 1e-9  # nanoseconds to seconds
KIB = 1024  # KiB to bytes
MS = 1e-3  # milliseconds to seconds


@dataclasses.dataclass(frozen=True, slots=True)
class Family:
    """One metric family fed by one libvirt stats key."""

    name: str  # full exposition name; counters end in _total
    type: str
    help: str
    key: str  # libvirt stats key (scalar) or field (per device)
    scale: float = 1
    active_only: bool = True  # not exported for shut-off domains

    @property
    def base_name(self) -> str:
        """The name prometheus_client wants (counters without _total)."""
        if self.type == COUNTER and self.name.endswith("_total"):
            return self.name[: -len("_total")]
        return self.name


F = Family

# Per-domain scalars.
DOMAIN = (
    F("libvirt_domain_info_vcpus", GAUGE, "Number of virtual CPUs of the domain.",
      "vcpu.current", active_only=False),
    F("libvirt_domain_info_maximum_vcpus", GAUGE,
      "Maximum number of virtual CPUs of the domain.", "vcpu.maximum", active_only=False),
    F("libvirt_domain_info_memory_bytes", GAUGE,
      "Maximum memory of the domain, in bytes.", "balloon.maximum", KIB, active_only=False),
    F("libvirt_domain_memory_usage_bytes", GAUGE,
      "Memory currently assigned to the domain (balloon size), in bytes.",
      "balloon.current", KIB),
    F("libvirt_domain_cpu_time_seconds_total", COUNTER,
      "CPU time used by the domain, in seconds.", "cpu.time", NS),
    F("libvirt_domain_cpu_user_seconds_total", COUNTER,
      "User-mode CPU time used by the domain, in seconds.", "cpu.user", NS),
    F("libvirt_domain_cpu_system_seconds_total", COUNTER,
      "System-mode CPU time used by the domain, in seconds.", "cpu.system", NS),
    F("libvirt_domain_memory_balloon_current_bytes", GAUGE,
      "Current balloon size, in bytes.", "balloon.current", KIB),
    F("libvirt_domain_memory_balloon_maximum_bytes", GAUGE,
      "Maximum balloon size, in bytes.", "balloon.maximum", KIB),
    F("libvirt_domain_memory_rss_bytes", GAUGE,
      "Resident set size of the domain's process on the host, in bytes.",
      "balloon.rss", KIB),
    F("libvirt_domain_memory_unused_bytes", GAUGE,
      "Memory left unused by the guest (guest balloon driver), in bytes.",
      "balloon.unused", KIB),
    F("libvirt_domain_memory_available_bytes", GAUGE,
      "Memory the guest sees as available (guest balloon driver), in bytes.",
      "balloon.available", KIB),
    F("libvirt_domain_memory_usable_bytes", GAUGE,
      "Memory the guest can reclaim without swapping (guest balloon driver), in bytes.",
      "balloon.usable", KIB),
    F("libvirt_domain_memory_disk_caches_bytes", GAUGE,
      "Memory the guest uses for disk caches, in bytes.", "balloon.disk_caches", KIB),
    F("libvirt_domain_memory_swap_in_bytes_total", COUNTER,
      "Memory swapped in by the guest, in bytes.", "balloon.swap_in", KIB),
    F("libvirt_domain_memory_swap_out_bytes_total", COUNTER,
      "Memory swapped out by the guest, in bytes.", "balloon.swap_out", KIB),
    F("libvirt_domain_memory_major_faults_total", COUNTER,
      "Major page faults in the guest.", "balloon.major_fault"),
    F("libvirt_domain_memory_minor_faults_total", COUNTER,
      "Minor page faults in the guest.", "balloon.minor_fault"),
)

# Per vCPU, label "vcpu".
VCPU = (
    F("libvirt_domain_vcpu_time_seconds_total", COUNTER,
      "CPU time used by the virtual CPU, in seconds.", "time", NS),
    F("libvirt_domain_vcpu_wait_seconds_total", COUNTER,
      "Time the virtual CPU wanted to run but was not scheduled (steal), in seconds.",
      "wait", NS),
    F("libvirt_domain_vcpu_delay_seconds_total", COUNTER,
      "Time the virtual CPU waited in the host run queue, in seconds.", "delay", NS),
    F("libvirt_domain_vcpu_state", GAUGE,
      "State of the virtual CPU (0 offline, 1 running, 2 blocked).", "state"),
)

# Per disk, label "device".
BLOCK = (
    F("libvirt_domain_block_read_bytes_total", COUNTER,
      "Bytes read from the block device.", "rd.bytes"),
    F("libvirt_domain_block_write_bytes_total", COUNTER,
      "Bytes written to the block device.", "wr.bytes"),
    F("libvirt_domain_block_read_requests_total", COUNTER,
      "Read requests to the block device.", "rd.reqs"),
    F("libvirt_domain_block_write_requests_total", COUNTER,
      "Write requests to the block device.", "wr.reqs"),
    F("libvirt_domain_block_flush_requests_total", COUNTER,
      "Flush requests to the block device.", "fl.reqs"),
    F("libvirt_domain_block_read_time_seconds_total", COUNTER,
      "Time spent reading from the block device, in seconds.", "rd.times", NS),
    F("libvirt_domain_block_write_time_seconds_total", COUNTER,
      "Time spent writing to the block device, in seconds.", "wr.times", NS),
    F("libvirt_domain_block_flush_time_seconds_total", COUNTER,
      "Time spent flushing the block device, in seconds.", "fl.times", NS),
    F("libvirt_domain_block_capacity_bytes", GAUGE,
      "Logical size of the block device as the guest sees it, in bytes.", "capacity"),
    F("libvirt_domain_block_allocation_bytes", GAUGE,
      "Highest allocated extent of the block device on the host, in bytes.",
      "allocation"),
    F("libvirt_domain_block_physical_bytes", GAUGE,
      "Physical size of the block device's storage on the host, in bytes.", "physical"),
)

# Per NIC, label "interface".
NET = (
    F("libvirt_domain_net_receive_bytes_total", COUNTER,
      "Bytes received on the network interface.", "rx.bytes"),
    F("libvirt_domain_net_receive_packets_total", COUNTER,
      "Packets received on the network interface.", "rx.pkts"),
    F("libvirt_domain_net_receive_errors_total", COUNTER,
      "Receive errors on the network interface.", "rx.errs"),
    F("libvirt_domain_net_receive_drops_total", COUNTER,
      "Received packets dropped on the network interface.", "rx.drop"),
    F("libvirt_domain_net_transmit_bytes_total", COUNTER,
      "Bytes transmitted on the network interface.", "tx.bytes"),
    F("libvirt_domain_net_transmit_packets_total", COUNTER,
      "Packets transmitted on the network interface.", "tx.pkts"),
    F("libvirt_domain_net_transmit_errors_total", COUNTER,
      "Transmit errors on the network interface.", "tx.errs"),
    F("libvirt_domain_net_transmit_drops_total", COUNTER,
      "Transmitted packets dropped on the network interface.", "tx.drop"),
)

# perf group: "perf.<event>"; occupancy and bandwidth are gauges, the rest counts.
PERF_GAUGES = {
    "cmt": ("libvirt_domain_perf_cache_occupancy_bytes",
            "Last-level cache used by the domain (perf cmt), in bytes."),
    "mbmt": ("libvirt_domain_perf_memory_bandwidth_total_bytes_per_second",
             "Total memory bandwidth used by the domain (perf mbmt), in bytes per second."),
    "mbml": ("libvirt_domain_perf_memory_bandwidth_local_bytes_per_second",
             "Local memory bandwidth used by the domain (perf mbml), in bytes per second."),
}
PERF_EVENTS = F("libvirt_domain_perf_events_total", COUNTER,
                "Hardware and software perf events counted for the domain, by event.",
                "perf")

# Families built by hand in the collector, listed here for the docs.
# (name, type, labels beyond the per-VM ones, help)
SPECIAL = (
    ("libvirt_up", GAUGE, None,
     "Whether libvirt answered the last collection (1) or not (0)."),
    ("libvirt_domain_info_state", GAUGE, "state",
     "State of the domain as libvirt's virDomainState code (1 running, 3 paused, "
     "5 shut off, 6 crashed, ...), named by the state label."),
    ("libvirt_domain_openstack_info", GAUGE, "all tenancy fields, source",
     "OpenStack tenancy of the domain (always 1), for joins in PromQL; source says "
     "where the tenancy came from."),
    (PERF_EVENTS.name, COUNTER, "event", PERF_EVENTS.help),
    ("libvirt_domain_events_total", COUNTER, "event, detail",
     "Domain events libvirt reported (lifecycle, reboot, watchdog, I/O error, "
     "metadata change, ...), by event type and detail. Kept for [events] "
     "retention seconds after the domain is gone."),
    ("libvirt_domain_last_event_timestamp_seconds", GAUGE, "event",
     "Unix time of the domain's last event of each type."),
) + tuple((name, GAUGE, "", doc) for name, doc in PERF_GAUGES.values())

SELF = (
    ("enricher_collection_duration_seconds", GAUGE,
     "Wall time of the last collection from libvirt, in seconds."),
    ("enricher_collection_timestamp_seconds", GAUGE, "Unix time of the last collection."),
    ("enricher_domains", GAUGE, "Domains in the last collection."),
    ("enricher_tenancy_unresolved_domains", GAUGE,
     "Domains in the last collection with no known project."),
    ("enricher_domains_skipped", GAUGE,
     "Domains left out of the last collection because they vanished or their stats "
     "or metadata could not be read."),
    ("enricher_domains_cpu_time_from_cgroup", GAUGE,
     "Running domains in the last collection whose CPU time was read from their "
     "cgroup ([libvirt] cpu_time_from_cgroup); the others' came from libvirt's cpu "
     "stats group."),
    ("enricher_domains_vcpu_times_from_proc", GAUGE,
     "Running domains in the last collection whose vCPU times were read from their "
     "QEMU threads in /proc ([libvirt] vcpu_times_from_proc); the others' came from "
     "libvirt's vcpu stats group."),
    ("enricher_errors_total", COUNTER, "Errors by source and kind."),
    ("enricher_event_queue_length", GAUGE,
     "Domain events received from libvirt and not yet dispatched."),
    ("enricher_events_dropped_total", COUNTER,
     "Domain events dropped because the dispatch queue was full."),
    ("enricher_event_reconnects_total", COUNTER,
     "Times the domain event callbacks were registered again on a new libvirt "
     "connection after the previous one was lost."),
    ("enricher_event_webhook_queue_length", GAUGE,
     "Events waiting to be posted to the webhook (only with [events] webhook_url)."),
    ("enricher_event_webhook_sent_total", COUNTER,
     "Events the webhook accepted (only with [events] webhook_url)."),
    ("enricher_event_webhook_dropped_total", COUNTER,
     "Events not posted to the webhook because its queue was full or every "
     "attempt failed (only with [events] webhook_url)."),
    ("enricher_scrape_duration_seconds", GAUGE,
     "Time this scrape took until the exporter's own metrics, in seconds."),
)

# The interval mode and the collectd virt plugin's extra statistics
# ([DEFAULT] extra_stats): exported by the SelfCollector and the ExtraCollector.
SELF += (
    ("enricher_collection_interval_seconds", GAUGE,
     "Seconds between collections by the background sampler ([DEFAULT] interval); "
     "0 when samples are collected at scrape time. Its HELP text says which."),
) + tuple((name, typ, "%s Only with [DEFAULT] extra_stats." % doc)
          for name, typ, doc in _extra_exposition.SELF)
SPECIAL += tuple(
    (f.name, f.type, ", ".join(f.labels),
     "%s Only with [DEFAULT] extra_stats = %s." % (f.help, f.selector))
    for f in _extra.FAMILIES)
