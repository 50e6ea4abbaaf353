"""Every metric family the enricher exports, declared once.

The Prometheus collectors, the docs' metric reference and every other output
read this table. Adding a metric is one entry here plus the code that fills
it. An entry's ``key`` is its ``name``: the Prometheus name dashboards use,
which never changes; a naming profile maps keys to another exporter's names.

Entries are grouped by source and in exposition order.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

GAUGE = "gauge"
COUNTER = "counter"
SUMMARY = "summary"

# Where a family's values come from (and which collector fills it), in exposition order.
CORE = "core"  # the bulk stats call and each domain's tenancy
EXTRA = "extra"  # the collectd virt plugin's extra statistics ([DEFAULT] extra_stats)
SELF = "self"  # the exporter's own health
EVENTS = "events"  # domain events ([events] enabled)
NOVA = "nova"  # the Nova API fallback (credentials configured)
API = "api"  # vAdvisor's extras ([api] enabled): rendered with the per-VM part
DEVICES = "devices"  # the cached domain descriptions ([prometheus] device_info)
SOURCES = (CORE, EXTRA, API, SELF, EVENTS, NOVA, DEVICES)

# The labels every per-VM series starts with; the tenant labels follow.
DOMAIN_LABELS = ("domain", "uuid")
# Tenancy fields of libvirt_domain_openstack_info, in label order.
INFO_FIELDS = (
    "instance_uuid", "instance_name", "project_id", "project_name", "user_id",
    "user_name", "flavor", "flavor_id", "flavor_vcpus", "flavor_ram_mb",
    "flavor_disk_gb", "image_id", "root_type", "root_id", "package_version",
)

NS = 1e-9  # nanoseconds to seconds
KIB = 1024  # KiB to bytes


@dataclasses.dataclass(frozen=True, slots=True)
class Family:
    """One exported metric family."""

    name: str  # as exported; counters end in _total
    type: str  # GAUGE, COUNTER or SUMMARY
    unit: str  # base unit of the value ("" for counts, codes and info series)
    help: str
    labels: tuple[str, ...] = ()  # after DOMAIN_LABELS and the tenant labels when per_vm
    source: str = CORE
    per_vm: bool = False  # one series per domain, with DOMAIN_LABELS and tenant labels
    selectors: tuple[str, ...] = ()  # EXTRA: the extra_stats selectors that export it
    stats_key: str = ""  # CORE: the bulk stats key read; "<n>" stands for a device index
    scale: float = 1  # CORE: factor from libvirt's unit to ``unit``
    active_only: bool = True  # CORE: not exported for shut-off domains
    collectd: str = ""  # EXTRA: the collectd virt plugin value it replaces

    @property
    def key(self) -> str:
        """The stable key other outputs and naming profiles refer to."""
        return self.name

    @property
    def base_name(self) -> str:
        """The name prometheus_client wants (counters without _total)."""
        if self.type == COUNTER and self.name.endswith("_total"):
            return self.name[: -len("_total")]
        return self.name

    def label_names(self, tenant_labels: Sequence[str]) -> tuple[str, ...]:
        """Every label of the family's series, in the order the collectors add them."""
        if self.per_vm:
            return (*DOMAIN_LABELS, *tenant_labels, *self.labels)
        return self.labels


def _core(name: str, type_: str, unit: str, stats_key: str, help_: str,
          labels: tuple[str, ...] = (), scale: float = 1, active_only: bool = True
          ) -> Family:
    return Family(name, type_, unit, help_, labels, CORE, True, (), stats_key, scale,
                  active_only)


def _extra(name: str, type_: str, unit: str, selectors: str, labels: tuple[str, ...],
           collectd: str, help_: str) -> Family:
    return Family(name, type_, unit, help_, labels, EXTRA, True,
                  tuple(selectors.split()), collectd=collectd)


def _own(name: str, type_: str, unit: str, help_: str, labels: tuple[str, ...] = (),
         source: str = SELF) -> Family:
    return Family(name, type_, unit, help_, labels, source)


_JOBS = "job_stats_background job_stats_completed"
_VCPU = ("vcpu",)
_BLOCK = ("device",)
_NET = ("interface",)
_KIND = ("kind",)
_MBM = ("monitor", "vcpus", "node")

FAMILIES: tuple[Family, ...] = (
    # -- core: the bulk stats call and the tenancy cache ------------------------------
    _own("libvirt_up", GAUGE, "",
         "Whether libvirt answered the last collection (1) or not (0).", source=CORE),
    Family("libvirt_domain_info_state", GAUGE, "",
           "State of the domain as libvirt's virDomainState code (1 running, 3 paused, "
           "5 shut off, 6 crashed, ...), named by the state label.",
           ("state",), CORE, True, stats_key="state.state", active_only=False),
    Family("libvirt_domain_timed_out", GAUGE, "",
           "Whether the domain's QEMU did not answer libvirt within [libvirt] "
           "stats_timeout (1) or did (0): its figures that need QEMU's monitor (block, "
           "balloon, vCPU halt) are missing until it answers again.",
           (), CORE, True),
    _own("libvirt_domain_openstack_info", GAUGE, "",
         "OpenStack tenancy of the domain (always 1), for joins in PromQL; source says "
         "where the tenancy came from.",
         (*DOMAIN_LABELS, *INFO_FIELDS, "port_ids", "fixed_ips", "source"), source=CORE),
    _core("libvirt_domain_info_vcpus", GAUGE, "", "vcpu.current",
          "Number of virtual CPUs of the domain.", active_only=False),
    _core("libvirt_domain_info_maximum_vcpus", GAUGE, "", "vcpu.maximum",
          "Maximum number of virtual CPUs of the domain.", active_only=False),
    _core("libvirt_domain_info_memory_bytes", GAUGE, "bytes", "balloon.maximum",
          "Maximum memory of the domain, in bytes.", scale=KIB, active_only=False),
    _core("libvirt_domain_memory_usage_bytes", GAUGE, "bytes", "balloon.current",
          "Memory currently assigned to the domain (balloon size), in bytes.", scale=KIB),
    _core("libvirt_domain_cpu_time_seconds_total", COUNTER, "seconds", "cpu.time",
          "CPU time used by the domain, in seconds.", scale=NS),
    _core("libvirt_domain_cpu_user_seconds_total", COUNTER, "seconds", "cpu.user",
          "User-mode CPU time used by the domain, in seconds.", scale=NS),
    _core("libvirt_domain_cpu_system_seconds_total", COUNTER, "seconds", "cpu.system",
          "System-mode CPU time used by the domain, in seconds.", scale=NS),
    _core("libvirt_domain_memory_balloon_current_bytes", GAUGE, "bytes", "balloon.current",
          "Current balloon size, in bytes.", scale=KIB),
    _core("libvirt_domain_memory_balloon_maximum_bytes", GAUGE, "bytes", "balloon.maximum",
          "Maximum balloon size, in bytes.", scale=KIB),
    _core("libvirt_domain_memory_rss_bytes", GAUGE, "bytes", "balloon.rss",
          "Resident set size of the domain's process on the host, in bytes.", scale=KIB),
    _core("libvirt_domain_memory_unused_bytes", GAUGE, "bytes", "balloon.unused",
          "Memory left unused by the guest (guest balloon driver), in bytes.", scale=KIB),
    _core("libvirt_domain_memory_available_bytes", GAUGE, "bytes", "balloon.available",
          "Memory the guest sees as available (guest balloon driver), in bytes.",
          scale=KIB),
    _core("libvirt_domain_memory_usable_bytes", GAUGE, "bytes", "balloon.usable",
          "Memory the guest can reclaim without swapping (guest balloon driver), in "
          "bytes.", scale=KIB),
    _core("libvirt_domain_memory_disk_caches_bytes", GAUGE, "bytes", "balloon.disk_caches",
          "Memory the guest uses for disk caches, in bytes.", scale=KIB),
    _core("libvirt_domain_memory_swap_in_bytes_total", COUNTER, "bytes", "balloon.swap_in",
          "Memory swapped in by the guest, in bytes.", scale=KIB),
    _core("libvirt_domain_memory_swap_out_bytes_total", COUNTER, "bytes",
          "balloon.swap_out", "Memory swapped out by the guest, in bytes.", scale=KIB),
    _core("libvirt_domain_memory_major_faults_total", COUNTER, "", "balloon.major_fault",
          "Major page faults in the guest."),
    _core("libvirt_domain_memory_minor_faults_total", COUNTER, "", "balloon.minor_fault",
          "Minor page faults in the guest."),
    _core("libvirt_domain_vcpu_time_seconds_total", COUNTER, "seconds", "vcpu.<n>.time",
          "CPU time used by the virtual CPU, in seconds.", _VCPU, NS),
    _core("libvirt_domain_vcpu_wait_seconds_total", COUNTER, "seconds", "vcpu.<n>.wait",
          "Time the virtual CPU wanted to run but was not scheduled (steal), in seconds.",
          _VCPU, NS),
    _core("libvirt_domain_vcpu_delay_seconds_total", COUNTER, "seconds", "vcpu.<n>.delay",
          "Time the virtual CPU waited in the host run queue, in seconds.", _VCPU, NS),
    _core("libvirt_domain_vcpu_state", GAUGE, "", "vcpu.<n>.state",
          "State of the virtual CPU (0 offline, 1 running, 2 blocked).", _VCPU),
    _core("libvirt_domain_block_read_bytes_total", COUNTER, "bytes", "block.<n>.rd.bytes",
          "Bytes read from the block device.", _BLOCK),
    _core("libvirt_domain_block_write_bytes_total", COUNTER, "bytes", "block.<n>.wr.bytes",
          "Bytes written to the block device.", _BLOCK),
    _core("libvirt_domain_block_read_requests_total", COUNTER, "", "block.<n>.rd.reqs",
          "Read requests to the block device.", _BLOCK),
    _core("libvirt_domain_block_write_requests_total", COUNTER, "", "block.<n>.wr.reqs",
          "Write requests to the block device.", _BLOCK),
    _core("libvirt_domain_block_flush_requests_total", COUNTER, "", "block.<n>.fl.reqs",
          "Flush requests to the block device.", _BLOCK),
    _core("libvirt_domain_block_read_time_seconds_total", COUNTER, "seconds",
          "block.<n>.rd.times", "Time spent reading from the block device, in seconds.",
          _BLOCK, NS),
    _core("libvirt_domain_block_write_time_seconds_total", COUNTER, "seconds",
          "block.<n>.wr.times", "Time spent writing to the block device, in seconds.",
          _BLOCK, NS),
    _core("libvirt_domain_block_flush_time_seconds_total", COUNTER, "seconds",
          "block.<n>.fl.times", "Time spent flushing the block device, in seconds.",
          _BLOCK, NS),
    _core("libvirt_domain_block_capacity_bytes", GAUGE, "bytes", "block.<n>.capacity",
          "Logical size of the block device as the guest sees it, in bytes.", _BLOCK),
    _core("libvirt_domain_block_allocation_bytes", GAUGE, "bytes", "block.<n>.allocation",
          "Highest allocated extent of the block device on the host, in bytes.", _BLOCK),
    _core("libvirt_domain_block_physical_bytes", GAUGE, "bytes", "block.<n>.physical",
          "Physical size of the block device's storage on the host, in bytes.", _BLOCK),
    _core("libvirt_domain_net_receive_bytes_total", COUNTER, "bytes", "net.<n>.rx.bytes",
          "Bytes received on the network interface.", _NET),
    _core("libvirt_domain_net_receive_packets_total", COUNTER, "", "net.<n>.rx.pkts",
          "Packets received on the network interface.", _NET),
    _core("libvirt_domain_net_receive_errors_total", COUNTER, "", "net.<n>.rx.errs",
          "Receive errors on the network interface.", _NET),
    _core("libvirt_domain_net_receive_drops_total", COUNTER, "", "net.<n>.rx.drop",
          "Received packets dropped on the network interface.", _NET),
    _core("libvirt_domain_net_transmit_bytes_total", COUNTER, "bytes", "net.<n>.tx.bytes",
          "Bytes transmitted on the network interface.", _NET),
    _core("libvirt_domain_net_transmit_packets_total", COUNTER, "", "net.<n>.tx.pkts",
          "Packets transmitted on the network interface.", _NET),
    _core("libvirt_domain_net_transmit_errors_total", COUNTER, "", "net.<n>.tx.errs",
          "Transmit errors on the network interface.", _NET),
    _core("libvirt_domain_net_transmit_drops_total", COUNTER, "", "net.<n>.tx.drop",
          "Transmitted packets dropped on the network interface.", _NET),
    # Every perf.<event> key the gauges below do not take.
    _core("libvirt_domain_perf_events_total", COUNTER, "", "perf.<event>",
          "Hardware and software perf events counted for the domain, by event.",
          ("event",)),
    _core("libvirt_domain_perf_cache_occupancy_bytes", GAUGE, "bytes", "perf.cmt",
          "Last-level cache used by the domain (perf cmt), in bytes."),
    _core("libvirt_domain_perf_memory_bandwidth_total_bytes_per_second", GAUGE,
          "bytes_per_second", "perf.mbmt",
          "Total memory bandwidth used by the domain (perf mbmt), in bytes per second."),
    _core("libvirt_domain_perf_memory_bandwidth_local_bytes_per_second", GAUGE,
          "bytes_per_second", "perf.mbml",
          "Local memory bandwidth used by the domain (perf mbml), in bytes per second."),
    # -- extra: [DEFAULT] extra_stats --------------------------------------------------
    _extra("libvirt_domain_cpu_utilization_ratio", GAUGE, "ratio", "cpu_util", (),
           "percent/virt_cpu_total",
           "CPU used by the domain between the last two collections, as a ratio of its "
           "vCPUs (0 idle, 1 every vCPU busy; capped at 1)."),
    _extra("libvirt_domain_cpu_utilization_host_cpu_ratio", GAUGE, "ratio", "cpu_util", (),
           "percent/virt_cpu_total (x host CPUs)",
           "CPU used by the domain between the last two collections, as a ratio of one "
           "host CPU (1 = one host CPU busy; above 1 when several vCPUs run)."),
    _extra("libvirt_domain_block_error", GAUGE, "", "disk_err", ("device", "error"),
           "disk_error/<disk>",
           "Error code of a disk that has an error (1 unspecified I/O error, 2 no space "
           "left); disks without errors have no series."),
    _extra("libvirt_domain_state_reason_info", GAUGE, "", "domain_state",
           ("state", "reason", "severity"), "domain_state (state, reason)",
           "State of the domain and the reason it entered it, as readable labels, with "
           "the collectd virt plugin's severity (always 1)."),
    _extra("libvirt_domain_state_severity", GAUGE, "", "domain_state", (),
           "notification domain_state (severity)",
           "Severity of the domain's state: 0 okay (running, shut down, shut off, no "
           "state), 1 warning (blocked, paused, pmsuspended), 2 failure (crashed)."),
    _extra("libvirt_domain_filesystem_info", GAUGE, "", "fs_info",
           ("mountpoint", "name", "fstype", "disks"), "notification file_system",
           "A file system mounted in the guest, as the guest agent reports it: mount "
           "point, device name, type and the domain's disk aliases it is on (always 1)."),
    _extra("libvirt_domain_job_info", GAUGE, "", _JOBS, ("kind", "type", "operation"),
           "job_stats/type, operation",
           "The domain's job: kind (background or completed), type (bounded, unbounded, "
           "completed, failed, cancelled) and operation (migration_out, dump, save, ...), "
           "always 1. Absent when there is no job."),
    _extra("libvirt_domain_job_progress_ratio", GAUGE, "ratio", _JOBS, _KIND,
           "job_stats/data_remaining, data_total",
           "Share of the job's work done (0 to 1): 1 - remaining / total, of its data "
           "or, for memory-only jobs, of its memory."),
    _extra("libvirt_domain_job_time_elapsed_seconds", GAUGE, "seconds", _JOBS, _KIND,
           "job_stats/time_elapsed", "Time since the job started, in seconds."),
    _extra("libvirt_domain_job_time_remaining_seconds", GAUGE, "seconds", _JOBS, _KIND,
           "job_stats/time_remaining",
           "Estimated time until a bounded job ends, in seconds."),
    _extra("libvirt_domain_job_downtime_seconds", GAUGE, "seconds", _JOBS, _KIND,
           "job_stats/downtime",
           "Time the domain was (or is expected to be) paused by the job, in seconds."),
    _extra("libvirt_domain_job_data_total_bytes", GAUGE, "bytes", _JOBS, _KIND,
           "job_stats/data_total",
           "Bytes the job has to transfer in total (memory and disks)."),
    _extra("libvirt_domain_job_data_processed_bytes", GAUGE, "bytes", _JOBS, _KIND,
           "job_stats/data_processed", "Bytes the job has transferred."),
    _extra("libvirt_domain_job_data_remaining_bytes", GAUGE, "bytes", _JOBS, _KIND,
           "job_stats/data_remaining", "Bytes the job still has to transfer."),
    _extra("libvirt_domain_job_memory_total_bytes", GAUGE, "bytes", _JOBS, _KIND,
           "job_stats/memory_total", "Memory the job has to transfer in total, in bytes."),
    _extra("libvirt_domain_job_memory_processed_bytes", GAUGE, "bytes", _JOBS, _KIND,
           "job_stats/memory_processed", "Memory the job has transferred, in bytes."),
    _extra("libvirt_domain_job_memory_remaining_bytes", GAUGE, "bytes", _JOBS, _KIND,
           "job_stats/memory_remaining", "Memory the job still has to transfer, in bytes."),
    _extra("libvirt_domain_job_memory_bandwidth_bytes_per_second", GAUGE,
           "bytes_per_second", _JOBS, _KIND, "job_stats/memory_bps",
           "Memory transfer rate of the job, in bytes per second."),
    _extra("libvirt_domain_job_memory_dirty_rate_pages_per_second", GAUGE,
           "pages_per_second", _JOBS, _KIND, "job_stats/memory_dirty_rate",
           "Pages the guest dirties per second while the job runs."),
    _extra("libvirt_domain_job_memory_iterations", GAUGE, "", _JOBS, _KIND,
           "job_stats/memory_iteration",
           "Memory transfer iterations (passes) of the job so far."),
    _extra("libvirt_domain_job_disk_total_bytes", GAUGE, "bytes", _JOBS, _KIND,
           "job_stats/disk_total", "Disk data the job has to transfer in total, in bytes."),
    _extra("libvirt_domain_job_disk_processed_bytes", GAUGE, "bytes", _JOBS, _KIND,
           "job_stats/disk_processed", "Disk data the job has transferred, in bytes."),
    _extra("libvirt_domain_job_disk_remaining_bytes", GAUGE, "bytes", _JOBS, _KIND,
           "job_stats/disk_remaining", "Disk data the job still has to transfer, in bytes."),
    _extra("libvirt_domain_perf_event_enabled", GAUGE, "", "perf", ("event",),
           "perf/perf_<event>",
           "Whether the perf event is enabled for the domain (1) or not (0); the counts "
           "are in libvirt_domain_perf_events_total and the cmt/mbm gauges."),
    _extra("libvirt_domain_vcpu_affinity", GAUGE, "", "vcpupin", ("vcpu", "cpu"),
           "cpu_affinity/vcpu_<n>-cpu_<m>",
           "Whether the vCPU may run on the host CPU (1) or not (0), one series per "
           "(vcpu, cpu) pair; a <cputune> vcpupin shows as a single 1 per vCPU."),
    _extra("libvirt_domain_pcpu_time_seconds_total", COUNTER, "seconds", "pcpu", ("cpu",),
           "ps_cputime (user + syst, per host CPU)",
           "CPU time the domain's processes used on the host CPU, in seconds."),
    _extra("libvirt_domain_pcpu_vcpu_time_seconds_total", COUNTER, "seconds", "pcpu",
           ("cpu",), "-",
           "CPU time the domain's vCPU threads used on the host CPU, in seconds."),
    _extra("libvirt_domain_memory_stats_updated_timestamp_seconds", GAUGE, "seconds",
           "memory", (), "memory/last_update",
           "Unix time the guest's balloon driver last updated its statistics."),
    _extra("libvirt_domain_memory_hugetlb_allocations_total", COUNTER, "", "memory", (),
           "-", "Huge pages the guest allocated successfully."),
    _extra("libvirt_domain_memory_hugetlb_allocation_failures_total", COUNTER, "",
           "memory", (), "-", "Huge page allocations that failed in the guest."),
    _extra("libvirt_domain_memory_bandwidth_local_bytes_total", COUNTER, "bytes", "memory",
           _MBM, "-",
           "Memory traffic of the monitored vCPUs through the memory controller local to "
           "their host CPU, in bytes (resctrl MBM)."),
    _extra("libvirt_domain_memory_bandwidth_bytes_total", COUNTER, "bytes", "memory", _MBM,
           "-",
           "Memory traffic of the monitored vCPUs through all memory controllers, in "
           "bytes (resctrl MBM)."),
    _extra("libvirt_domain_memory_dirty_rate_bytes_per_second", GAUGE, "bytes_per_second",
           "dirtyrate", (), "-",
           "Memory the guest dirtied per second in the last calculation, in bytes per "
           "second."),
    _extra("libvirt_domain_vcpu_memory_dirty_rate_bytes_per_second", GAUGE,
           "bytes_per_second", "dirtyrate", _VCPU, "-",
           "Memory the vCPU dirtied per second in the last calculation (dirty-ring "
           "mode), in bytes per second."),
    _extra("libvirt_domain_memory_dirty_rate_calculation_info", GAUGE, "", "dirtyrate",
           ("status", "mode"), "-",
           "Status (unstarted, measuring, measured) and mode of the domain's dirty rate "
           "calculation (always 1)."),
    _extra("libvirt_domain_memory_dirty_rate_calculation_start_timestamp_seconds", GAUGE,
           "seconds", "dirtyrate", (), "-",
           "Unix time the last dirty rate calculation started."),
    _extra("libvirt_domain_memory_dirty_rate_calculation_period_seconds", GAUGE, "seconds",
           "dirtyrate", (), "-", "Length of the last dirty rate calculation, in seconds."),
    _own("enricher_extra_calls_total", COUNTER, "",
         "Per-domain libvirt calls of the extra statistics by selector and outcome: ok, "
         "timeout, busy (an earlier call for the domain is still stuck), skipped (after a "
         "timeout), unsupported, no_agent, denied, domain_gone, inactive (stopped or "
         "paused since the bulk call) or error.", ("selector", "outcome"), source=EXTRA),
    _own("enricher_extra_duration_seconds", GAUGE, "seconds",
         "Wall time of the last extra statistics collection, after the bulk call, in "
         "seconds.", source=EXTRA),
    _own("enricher_extra_busy_domains", GAUGE, "",
         "Domains whose extra statistics are skipped because a call into them is still "
         "stuck.", source=EXTRA),
    # -- api: [api] enabled, rendered with the per-VM part -----------------------------
    Family("vm_up", GAUGE, "",
           "Whether the domain runs (1) or not (0, for [api] vm_up_stale_period after it "
           "shut off or disappeared; then the series goes away). While libvirt does not "
           "answer, the last values are kept.", (), API, True),
    # -- self: the exporter's own health, rendered on every scrape ---------------------
    _own("enricher_collection_duration_seconds", GAUGE, "seconds",
         "Wall time of the last collection from libvirt, in seconds."),
    _own("enricher_collection_timestamp_seconds", GAUGE, "seconds",
         "Unix time of the last collection."),
    _own("enricher_domains", GAUGE, "", "Domains in the last collection."),
    _own("enricher_tenancy_unresolved_domains", GAUGE, "",
         "Domains in the last collection with no known project."),
    _own("enricher_domains_skipped", GAUGE, "",
         "Domains left out of the last collection because they vanished or their stats "
         "or metadata could not be read."),
    _own("enricher_domains_cpu_time_from_cgroup", GAUGE, "",
         "Running domains in the last collection whose CPU time was read from their "
         "cgroup ([libvirt] cpu_time_from_cgroup); the others' came from libvirt's cpu "
         "stats group."),
    _own("enricher_domains_vcpu_times_from_proc", GAUGE, "",
         "Running domains in the last collection whose vCPU times were read from their "
         "QEMU threads in /proc ([libvirt] vcpu_times_from_proc); the others' came from "
         "libvirt's vcpu stats group."),
    # The exported HELP says which of the two modes runs (prometheus.interval_help).
    _own("enricher_collection_interval_seconds", GAUGE, "seconds",
         "Seconds between collections by the background sampler ([DEFAULT] interval); "
         "0 when samples are collected at scrape time. Its HELP text says which."),
    _own("enricher_errors_total", COUNTER, "", "Errors by source and kind.",
         ("source", "kind")),
    _own("enricher_scrape_duration_seconds", GAUGE, "seconds",
         "Time this scrape took until the exporter's own metrics, in seconds."),
    # -- self, the process: background threads and HTTP connections ------------------
    _own("enricher_thread_up", GAUGE, "",
         "Whether a background thread (sampler, nova-fallback, event-dispatch, "
         "event-webhook, libvirt-event-loop) is running (1) or dead and waiting "
         "to be restarted (0).", ("thread",)),
    _own("enricher_thread_restarts_total", COUNTER, "",
         "Times a background thread was restarted after it crashed.", ("thread",)),
    _own("enricher_http_connections", GAUGE, "",
         "Open HTTP connections when this scrape started."),
    _own("enricher_http_connections_max", GAUGE, "",
         "Most HTTP connections held open at once ([prometheus] max_connections, "
         "lowered to fit the open-file limit)."),
    _own("enricher_http_connections_closed_total", COUNTER, "",
         "HTTP connections the server closed early: evicted (idle, to make room at "
         "the cap), rejected (503, every connection busy), send_timeout (the client "
         "read too slowly), header_too_large (431, a header block over 64 KiB).",
         ("reason",)),
    # -- self, the StatsD sender: [statsd] enabled, rendered on every scrape ----------
    _own("enricher_statsd_datagrams_total", COUNTER, "",
         "UDP datagrams for the StatsD server by result: sent (handed to the kernel), "
         "or failed (not sent: host unresolvable, socket buffer full, refused, ...). "
         "Reasons, and refusals the kernel reports later for datagrams sent, are in "
         "enricher_errors_total{source=\"statsd\"}. Only with [statsd] enabled.",
         ("result",)),
    _own("enricher_statsd_lines_total", COUNTER, "",
         "StatsD lines packed into datagrams (only with [statsd] enabled)."),
    _own("enricher_statsd_send_duration_seconds", GAUGE, "seconds",
         "Wall time of the last StatsD send, formatting included, in seconds (only "
         "with [statsd] enabled)."),
    _own("enricher_statsd_last_success_timestamp_seconds", GAUGE, "seconds",
         "Unix time of the last StatsD send in which every datagram went out, 0 "
         "before the first (only with [statsd] enabled)."),
    # -- web config: [prometheus] web_config_file set, rendered on every scrape --------
    _own("enricher_http_tls_handshake_errors_total", COUNTER, "",
         "TLS handshakes that failed, by reason: plain_http (an HTTP request to the TLS "
         "port), no_client_certificate, bad_client_certificate (did not verify), "
         "client_san_not_allowed, protocol (versions, ciphers), timeout, closed.",
         ("reason",)),
    _own("enricher_http_auth_failures_total", COUNTER, "",
         "Requests answered 401: no, malformed or wrong basic-auth credentials."),
    _own("enricher_web_config_last_reload_successful", GAUGE, "",
         "Whether the last re-read of the web config file and its certificates "
         "succeeded (1) or kept the previous configuration (0)."),
    _own("enricher_web_config_reloads_total", COUNTER, "",
         "Re-reads of the web config file or its certificates after start-up "
         "(on change or SIGHUP), by result (success, failure).", ("result",)),
    # -- events: [events] enabled, rendered on every scrape ----------------------------
    Family("libvirt_domain_events_total", COUNTER, "",
           "Domain events libvirt reported (lifecycle, reboot, watchdog, I/O error, "
           "metadata change, ...), by event type and detail. Kept for [events] "
           "retention seconds after the domain is gone.",
           ("event", "detail"), EVENTS, True),
    Family("libvirt_domain_last_event_timestamp_seconds", GAUGE, "seconds",
           "Unix time of the domain's last event of each type.", ("event",), EVENTS, True),
    _own("enricher_event_queue_length", GAUGE, "",
         "Domain events received from libvirt and not yet dispatched.", source=EVENTS),
    _own("enricher_events_dropped_total", COUNTER, "",
         "Domain events dropped because the dispatch queue was full.", source=EVENTS),
    _own("enricher_event_reconnects_total", COUNTER, "",
         "Times the domain event callbacks were registered again on a new libvirt "
         "connection after the previous one was lost.", source=EVENTS),
    _own("enricher_event_webhook_queue_length", GAUGE, "",
         "Events waiting to be posted to the webhook (only with [events] webhook_url).",
         source=EVENTS),
    _own("enricher_event_webhook_sent_total", COUNTER, "",
         "Events the webhook accepted (only with [events] webhook_url).", source=EVENTS),
    _own("enricher_event_webhook_dropped_total", COUNTER, "",
         "Events not posted to the webhook because its queue was full or every "
         "attempt failed (only with [events] webhook_url).", source=EVENTS),
    _own("enricher_event_masakari_queue_length", GAUGE, "",
         "Masakari notifications waiting to be posted (only with [masakari] enabled).",
         source=EVENTS),
    _own("enricher_event_masakari_sent_total", COUNTER, "",
         "Masakari notifications the API accepted, a 409 (already known) included "
         "(only with [masakari] enabled).", source=EVENTS),
    _own("enricher_event_masakari_failed_total", COUNTER, "",
         "Attempts to post a Masakari notification that failed (5xx, timeout, "
         "unreachable, refused), retried or not (only with [masakari] enabled).",
         source=EVENTS),
    _own("enricher_event_masakari_dropped_total", COUNTER, "",
         "Masakari notifications given up: queue full, refused (4xx) or still failing "
         "after [masakari] retry_window (only with [masakari] enabled).", source=EVENTS),
    _own("enricher_event_masakari_last_success_timestamp_seconds", GAUGE, "seconds",
         "Unix time Masakari last accepted a notification, 0 before the first "
         "(only with [masakari] enabled).", source=EVENTS),
    # -- nova: the Nova API fallback, rendered on every scrape -------------------------
    _own("enricher_nova_api_up", GAUGE, "",
         "Whether the last Nova API look-up succeeded (1) or not (0); absent until "
         "a look-up was needed.", source=NOVA),
    _own("enricher_nova_requests_total", COUNTER, "",
         "HTTP requests to Nova and Keystone by endpoint and status (or timeout, "
         "connection_error).", ("endpoint", "status"), source=NOVA),
    _own("enricher_nova_cache_total", COUNTER, "",
         "Tenancy cache outcomes for domains whose metadata is incomplete: hit, "
         "negative_hit (Nova does not know the domain), miss (a look-up is queued).",
         ("result",), source=NOVA),
    _own("enricher_nova_lookup_duration_seconds", SUMMARY, "seconds",
         "Duration of host-wide Nova look-ups, in seconds.", source=NOVA),
    _own("enricher_nova_lookups_total", COUNTER, "",
         "Host-wide Nova look-ups by result (ok, error).", ("result",), source=NOVA),
    # -- devices: the domain XML read with the tenancy, [prometheus] device_info ------
    Family("libvirt_domain_block_info", GAUGE, "",
           "A disk of the domain as its XML describes it (always 1): bus, device type, "
           "driver type, cache mode, source type and source (file, block device, "
           "pool/volume, or the RBD pool/image of a network disk) and serial (the "
           "Cinder volume id of a volume-backed disk).",
           ("device", "bus", "device_type", "driver_type", "cache", "source_type",
            "source", "serial"), DEVICES, True),
    Family("libvirt_domain_interface_info", GAUGE, "",
           "A network interface of the domain as its XML describes it (always 1): MAC, "
           "type, bridge (or network), model, MTU, the Neutron port id and the port's "
           "fixed IPs (comma-separated, where Nova's metadata lists them).",
           ("interface", "mac", "type", "bridge", "model", "mtu", "port_id", "fixed_ips"),
           DEVICES, True),
)

BY_NAME: dict[str, Family] = {family.name: family for family in FAMILIES}


def get(name: str) -> Family:
    """The entry of ``name`` (KeyError for a family the catalog does not declare)."""
    return BY_NAME[name]


def of(source: str) -> tuple[Family, ...]:
    """The entries of one source, in exposition order."""
    return tuple(family for family in FAMILIES if family.source == source)
