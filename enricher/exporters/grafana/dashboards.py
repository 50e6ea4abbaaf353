"""The shipped dashboards: project overview, instance drill-down, events, exporter health.

Queries use the seed profile's names and the default tenant labels
(``project_name`` on every per-VM series); ``uuid`` (always exported) picks
one instance. ``$__rate_interval`` and ``$__range`` are Grafana's. The
instance drill-down is also generated for the inovex profile (its names,
``domain`` for ``uuid``); events and exporter health read families no profile
renames, so one file serves both; the overview reads the seed-named
recording rules.
"""

from __future__ import annotations

from enricher.exporters.grafana.model import Dashboard, Panel, Query, Row, Variable

P = 'project_name=~"$project"'
I = 'uuid="$instance"'  # noqa: E741 - the instance selector
N = 'instance=~"$node"'
RI = "[$__rate_interval]"
BALLOON = "the guest's virtio balloon driver (memory statistics)"
PERF = "perf events enabled on the domain (<perf> in its XML) and a host that counts them"
RDT = "Intel RDT (resctrl) on the host and cmt/mbm perf events enabled"
ERRORS = "an error counted since the enricher started"
DEVICE_INFO = "[prometheus] device_info = true (seed profile)"

PROJECT = Variable("project", "Project",
                   "label_values(libvirt_domain_openstack_info, project_name)")
INSTANCE = Variable("instance", "Instance (UUID)",
                    'label_values(libvirt_domain_openstack_info{%s}, uuid)' % P, multi=False)
NODE = Variable("node", "Compute node", "label_values(enricher_domains, instance)")

# Join a per-uuid vector to the instance's name and project (info metric).
NAMES = ("* on (uuid) group_left (instance_name, project_name) "
         "max by (uuid, instance_name, project_name) (libvirt_domain_openstack_info)")


def _q(expr: str, legend: str = "", needs: str = "") -> Query:
    return Query(" ".join(expr.split()), legend, needs)


def _rate(family: str, selector: str, by: str = "") -> str:
    inner = "rate(%s{%s}%s)" % (family, selector, RI)
    return "sum by (%s) (%s)" % (by, inner) if by else inner


def _top(title: str, expr: str, unit: str) -> Panel:
    return Panel(title, (_q("topk(10, %s %s)" % (expr, NAMES)),), unit, "table", 6)


OVERVIEW = Dashboard(
    uid="enricher-projects",
    title="Enricher / Projects",
    description="CPU, memory, disk and network per OpenStack project, and the busiest "
                "instances, from the per-project recording rules.",
    variables=(PROJECT,),
    rows=(
        Row("Usage per project", (
            Panel("Instances by state", (_q(
                'project:libvirt_domain_info_state:count{%s}' % P,
                "{{project_name}} {{state}}"),), "short"),
            Panel("vCPUs", (_q('project:libvirt_domain_info_vcpus:sum{%s}' % P,
                               "{{project_name}}"),), "short"),
            Panel("CPU (host CPUs busy)", (_q(
                'project:libvirt_domain_cpu_time_seconds:rate5m{%s}' % P,
                "{{project_name}}"),), "short"),
            Panel("Memory", (
                _q('project:libvirt_domain_info_memory_bytes:sum{%s}' % P,
                   "{{project_name}} configured"),
                _q('project:libvirt_domain_memory_rss_bytes:sum{%s}' % P,
                   "{{project_name}} resident on hosts")), "bytes"),
            Panel("Disk throughput", (
                _q('project:libvirt_domain_block_read_bytes:rate5m{%s}' % P,
                   "{{project_name}} read"),
                _q('project:libvirt_domain_block_write_bytes:rate5m{%s}' % P,
                   "{{project_name}} write")), "Bps", width=8),
            Panel("Disk requests", (_q(
                'project:libvirt_domain_block_requests:rate5m{%s}' % P,
                "{{project_name}}"),), "iops", width=8),
            Panel("Network", (
                _q('project:libvirt_domain_net_receive_bytes:rate5m{%s}' % P,
                   "{{project_name}} received"),
                _q('project:libvirt_domain_net_transmit_bytes:rate5m{%s}' % P,
                   "{{project_name}} sent")), "Bps", width=8),
        )),
        Row("Top 10 instances", (
            _top("Top instances by CPU",
                 "sum by (uuid) (%s)" % _rate("libvirt_domain_cpu_time_seconds_total", P),
                 "short"),
            _top("Top instances by resident memory",
                 "max by (uuid) (libvirt_domain_memory_rss_bytes{%s})" % P, "bytes"),
            _top("Top instances by disk throughput",
                 "sum by (uuid) (%s + %s)" % (
                     _rate("libvirt_domain_block_read_bytes_total", P),
                     _rate("libvirt_domain_block_write_bytes_total", P)), "Bps"),
            _top("Top instances by network throughput",
                 "sum by (uuid) (%s + %s)" % (
                     _rate("libvirt_domain_net_receive_bytes_total", P),
                     _rate("libvirt_domain_net_transmit_bytes_total", P)), "Bps"),
        )),
    ),
)

INSTANCE_DASHBOARD = Dashboard(
    profiles=("seed", "inovex"),
    uid="enricher-instance",
    title="Enricher / Instance",
    description="Every core metric of one instance: CPU, vCPUs, memory, disks, network "
                "interfaces and perf counters, with its tenancy.",
    variables=(PROJECT, INSTANCE),
    rows=(
        Row("Instance", (
            Panel("Tenancy, flavor, image, ports and fixed IPs", (_q(
                'libvirt_domain_openstack_info{%s}' % I),), "short", "table", 16),
            Panel("State", (_q('libvirt_domain_info_state{%s}' % I, "{{state}}"),
                            _q('libvirt_domain_timed_out{%s}' % I, "timed out")),
                  "short", "stat", 8, "virDomainState code: 1 running, 3 paused, "
                  "5 shut off, 6 crashed; timed out 1 while QEMU does not answer."),
        )),
        Row("Devices", (
            Panel("Disks: source, bus and serial (Cinder volume id)", (_q(
                'libvirt_domain_block_info{%s}' % I, needs=DEVICE_INFO),), "short", "table"),
            Panel("Interfaces: MAC, bridge and Neutron port id", (_q(
                'libvirt_domain_interface_info{%s}' % I, needs=DEVICE_INFO),),
                "short", "table"),
        )),
        Row("CPU", (
            Panel("CPU time (host CPUs busy)", (
                _q(_rate("libvirt_domain_cpu_time_seconds_total", I), "total"),
                _q(_rate("libvirt_domain_cpu_user_seconds_total", I), "user"),
                _q(_rate("libvirt_domain_cpu_system_seconds_total", I), "system")), "short"),
            Panel("vCPUs", (
                _q('libvirt_domain_info_vcpus{%s}' % I, "current"),
                _q('libvirt_domain_info_maximum_vcpus{%s}' % I, "maximum")), "short"),
            Panel("Time per vCPU", (_q(
                _rate("libvirt_domain_vcpu_time_seconds_total", I), "vCPU {{vcpu}}"),),
                "percentunit", width=8),
            Panel("vCPU steal (wait)", (_q(
                _rate("libvirt_domain_vcpu_wait_seconds_total", I), "vCPU {{vcpu}}"),),
                "percentunit", width=8),
            Panel("vCPU run-queue delay", (_q(
                _rate("libvirt_domain_vcpu_delay_seconds_total", I), "vCPU {{vcpu}}"),),
                "percentunit", width=8),
            Panel("vCPU state", (_q('libvirt_domain_vcpu_state{%s}' % I, "vCPU {{vcpu}}"),),
                  "short", description="0 offline, 1 running, 2 blocked."),
        )),
        Row("Memory", (
            Panel("Memory", (
                _q('libvirt_domain_info_memory_bytes{%s}' % I, "maximum"),
                _q('libvirt_domain_memory_usage_bytes{%s}' % I, "assigned (balloon)"),
                _q('libvirt_domain_memory_balloon_current_bytes{%s}' % I, "balloon current"),
                _q('libvirt_domain_memory_balloon_maximum_bytes{%s}' % I, "balloon maximum"),
                _q('libvirt_domain_memory_rss_bytes{%s}' % I, "resident on host")), "bytes"),
            Panel("Guest memory", (
                _q('libvirt_domain_memory_available_bytes{%s}' % I, "available", BALLOON),
                _q('libvirt_domain_memory_unused_bytes{%s}' % I, "unused", BALLOON),
                _q('libvirt_domain_memory_usable_bytes{%s}' % I, "usable", BALLOON),
                _q('libvirt_domain_memory_disk_caches_bytes{%s}' % I, "disk caches",
                   BALLOON)), "bytes"),
            Panel("Guest swap", (
                _q(_rate("libvirt_domain_memory_swap_in_bytes_total", I), "in", BALLOON),
                _q(_rate("libvirt_domain_memory_swap_out_bytes_total", I), "out", BALLOON)),
                "Bps"),
            Panel("Guest page faults", (
                _q(_rate("libvirt_domain_memory_major_faults_total", I), "major", BALLOON),
                _q(_rate("libvirt_domain_memory_minor_faults_total", I), "minor", BALLOON)),
                "ops"),
        )),
        Row("Disks", (
            Panel("Disk throughput", (
                _q(_rate("libvirt_domain_block_read_bytes_total", I), "{{device}} read"),
                _q(_rate("libvirt_domain_block_write_bytes_total", I), "{{device}} write")),
                "Bps"),
            Panel("Disk requests", (
                _q(_rate("libvirt_domain_block_read_requests_total", I), "{{device}} read"),
                _q(_rate("libvirt_domain_block_write_requests_total", I), "{{device}} write"),
                _q(_rate("libvirt_domain_block_flush_requests_total", I),
                   "{{device}} flush")), "iops"),
            Panel("Disk time per request", (
                _q("%s / %s" % (_rate("libvirt_domain_block_read_time_seconds_total", I),
                                _rate("libvirt_domain_block_read_requests_total", I)),
                   "{{device}} read"),
                _q("%s / %s" % (_rate("libvirt_domain_block_write_time_seconds_total", I),
                                _rate("libvirt_domain_block_write_requests_total", I)),
                   "{{device}} write"),
                _q("%s / %s" % (_rate("libvirt_domain_block_flush_time_seconds_total", I),
                                _rate("libvirt_domain_block_flush_requests_total", I)),
                   "{{device}} flush")), "s",
                description="Empty while a disk is idle (no requests to divide by)."),
            Panel("Disk sizes", (
                _q('libvirt_domain_block_capacity_bytes{%s}' % I, "{{device}} capacity"),
                _q('libvirt_domain_block_allocation_bytes{%s}' % I, "{{device}} allocation"),
                _q('libvirt_domain_block_physical_bytes{%s}' % I, "{{device}} physical")),
                "bytes"),
        )),
        Row("Network interfaces", (
            Panel("Network throughput", (
                _q(_rate("libvirt_domain_net_receive_bytes_total", I), "{{interface}} in"),
                _q(_rate("libvirt_domain_net_transmit_bytes_total", I), "{{interface}} out")),
                "Bps"),
            Panel("Network packets", (
                _q(_rate("libvirt_domain_net_receive_packets_total", I), "{{interface}} in"),
                _q(_rate("libvirt_domain_net_transmit_packets_total", I),
                   "{{interface}} out")), "pps"),
            Panel("Network errors", (
                _q(_rate("libvirt_domain_net_receive_errors_total", I), "{{interface}} in"),
                _q(_rate("libvirt_domain_net_transmit_errors_total", I),
                   "{{interface}} out")), "pps"),
            Panel("Network drops", (
                _q(_rate("libvirt_domain_net_receive_drops_total", I), "{{interface}} in"),
                _q(_rate("libvirt_domain_net_transmit_drops_total", I), "{{interface}} out")),
                "pps"),
        )),
        Row("Perf counters", (
            Panel("Perf events", (_q(
                _rate("libvirt_domain_perf_events_total", I), "{{event}}", PERF),),
                "ops", width=8),
            Panel("Last-level cache", (_q(
                'libvirt_domain_perf_cache_occupancy_bytes{%s}' % I, "occupancy", RDT),),
                "bytes", width=8),
            Panel("Memory bandwidth", (
                _q('libvirt_domain_perf_memory_bandwidth_total_bytes_per_second{%s}' % I,
                   "total", RDT),
                _q('libvirt_domain_perf_memory_bandwidth_local_bytes_per_second{%s}' % I,
                   "local", RDT)), "Bps", width=8),
        )),
    ),
)

FAILURES = 'event=~"crashed|watchdog|io_error|reboot"'
EVENTS_IN_RANGE = ("(libvirt_domain_events_total{%s, %s} - "
                   "libvirt_domain_events_total{%s, %s} offset $__range) "
                   "or libvirt_domain_events_total{%s, %s}") % ((P, FAILURES) * 3)

EVENTS = Dashboard(
    profiles=("seed", "inovex"),
    profile_independent=True,
    uid="enricher-events",
    title="Enricher / Events per project",
    description="Crashes, watchdog firings, disk I/O errors and reboots per project, from "
                "the libvirt domain events the enricher counts.",
    variables=(PROJECT,),
    rows=(
        Row("Failures per project", (
            Panel("Failures in the time range", (_q(
                "sum by (project_name, event) (%s)" % EVENTS_IN_RANGE),), "short", "table",
                12, "Counts series that appeared in the range (a first event) in full."),
            Panel("Failures over time", (_q(
                "sum by (project_name, event) (increase(libvirt_domain_events_total{%s, %s}%s))"
                % (P, FAILURES, RI), "{{project_name}} {{event}}"),), "short"),
        )),
        Row("Instances", (
            Panel("Last failure per instance", (_q(
                "1000 * max by (project_name, domain, uuid, event) ("
                "libvirt_domain_last_event_timestamp_seconds{%s, "
                'event=~"crashed|watchdog|io_error|io_error_reason|reboot"})' % P),),
                "dateTimeAsIso", "table", 12),
            Panel("I/O errors by reason", (_q(
                "sum by (project_name, domain, detail) (libvirt_domain_events_total{%s, "
                'event="io_error_reason"})' % P),), "short", "table", 12),
            Panel("Lifecycle events over time", (_q(
                "sum by (project_name, event) (increase(libvirt_domain_events_total{%s, "
                'event=~"started|stopped|suspended|resumed|shutdown"}%s))' % (P, RI),
                "{{project_name}} {{event}}"),), "short", width=24),
        )),
    ),
)

HEALTH = Dashboard(
    profiles=("seed", "inovex"),
    profile_independent=True,
    uid="enricher-health",
    title="Enricher / Exporter health",
    description="Per compute node: scrapes, libvirt, collection time, skipped domains, "
                "unresolved tenancy, the Nova fallback, threads, HTTP and event pipeline.",
    variables=(NODE,),
    rows=(
        Row("Up", (
            Panel("Exporter and libvirt up", (
                _q('up{%s}' % N, "{{instance}} scraped"),
                _q('libvirt_up{%s}' % N, "{{instance}} libvirt")), "short", width=8),
            Panel("Alerts", (_q(
                'ALERTS{alertname=~"Enricher.*|Libvirt.*"}'),), "short", "table", 16),
        )),
        Row("Collection", (
            Panel("Collection time and interval", (
                _q('enricher_collection_duration_seconds{%s}' % N, "{{instance}} collection"),
                _q('enricher_collection_interval_seconds{%s}' % N, "{{instance}} interval"),
                _q('enricher_scrape_duration_seconds{%s}' % N, "{{instance}} scrape")), "s"),
            Panel("Snapshot age", (_q(
                'time() - enricher_collection_timestamp_seconds{%s}' % N, "{{instance}}"),),
                "s"),
            Panel("Domains", (
                _q('enricher_domains{%s}' % N, "{{instance}} domains"),
                _q('enricher_domains_skipped{%s}' % N, "{{instance}} skipped"),
                _q('enricher_tenancy_unresolved_domains{%s}' % N,
                   "{{instance}} without tenancy")), "short"),
            Panel("Errors", (_q(
                "sum by (instance, source, kind) (%s)" % _rate("enricher_errors_total", N),
                "{{instance}} {{source}} {{kind}}", ERRORS),), "ops"),
        )),
        Row("Nova fallback", (
            Panel("Nova API up", (_q('enricher_nova_api_up{%s}' % N, "{{instance}}"),),
                  "short", width=8),
            Panel("Nova look-ups", (_q(
                "sum by (instance, result) (%s)" % _rate("enricher_nova_lookups_total", N),
                "{{instance}} {{result}}"),), "ops", width=8),
            Panel("Nova look-up time", (_q(
                "%s / %s" % (_rate("enricher_nova_lookup_duration_seconds_sum", N),
                             _rate("enricher_nova_lookup_duration_seconds_count", N)),
                "{{instance}}"),), "s", width=8,
                description="Empty while no look-up happens."),
        )),
        Row("Process", (
            Panel("Threads", (
                _q('enricher_thread_up{%s}' % N, "{{instance}} {{thread}}"),
                _q("sum by (instance, thread) (%s)"
                   % _rate("enricher_thread_restarts_total", N),
                   "{{instance}} {{thread}} restarts")), "short", width=8),
            Panel("HTTP connections", (
                _q('enricher_http_connections{%s}' % N, "{{instance}} open"),
                _q('enricher_http_connections_max{%s}' % N, "{{instance}} cap"),
                _q("sum by (instance, reason) (%s)"
                   % _rate("enricher_http_connections_closed_total", N),
                   "{{instance}} closed {{reason}}")), "short", width=8),
            Panel("Event pipeline", (
                _q('enricher_event_queue_length{%s}' % N, "{{instance}} queued"),
                _q(_rate("enricher_events_dropped_total", N), "{{instance}} dropped"),
                _q(_rate("enricher_event_reconnects_total", N), "{{instance}} reconnects")),
                "short", width=8),
        )),
    ),
)

DASHBOARDS = (OVERVIEW, INSTANCE_DASHBOARD, EVENTS, HEALTH)
