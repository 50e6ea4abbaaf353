"""The layout of ENRICHER-MIB: every table, column and notification, keyed to the catalog.

This table is the single source of the MIB: ``etc/enricher/mibs/ENRICHER-MIB.txt``
is rendered from it (:mod:`enricher.exporters.snmp.mibgen`), the agent serves
its columns, and a test checks it against the metric catalog and the parsed
MIB file, so none of the three can drift.

A column's ``source`` says where its value comes from:

* ``family:<name>`` a catalog family. Core families are served in libvirt's
  raw unit (the catalog's value divided by its ``scale``: nanoseconds, KiB);
  extra families in the column's ``units`` (the catalog value times ``factor``).
* ``label:<name>`` a label of the catalog: ``domain``, ``uuid``, a tenancy
  field of ``libvirt_domain_openstack_info``, ``device``, ``interface``, ...
* ``description:<field>`` the domain description (disk serial, NIC MAC, port id).
* ``derived:<what>`` computed from the sample (state reason code, running flag).
"""

from __future__ import annotations

import dataclasses

from enricher.exporters.snmp import agentx

MODULE = "ENRICHER-MIB"
# RFC 5612 reserves enterprise number 32473 for examples and documentation.
EXAMPLE_PEN = 32473
DEFAULT_BASE_OID = "1.3.6.1.4.1.%d.1" % EXAMPLE_PEN


@dataclasses.dataclass(frozen=True, slots=True)
class Syntax:
    """An SMI syntax and the AgentX varbind type its values are sent as."""

    smi: str
    type: int


UTF8 = Syntax("EnrUtf8String", agentx.OCTET_STRING)
STRING_MAX = 1024  # bytes of an EnrUtf8String; longer values are cut at a character
INDEX = Syntax("Unsigned32 (1..2147483647)", agentx.GAUGE32)
COUNTER64 = Syntax("Counter64", agentx.COUNTER64)
GAUGE32 = Syntax("Gauge32", agentx.GAUGE32)
UNSIGNED32 = Syntax("Unsigned32", agentx.GAUGE32)
INTEGER32 = Syntax("Integer32", agentx.INTEGER)
TRUTH = Syntax("TruthValue", agentx.INTEGER)
MAC = Syntax("MacAddress", agentx.OCTET_STRING)
STATE = Syntax("INTEGER { nostate(0), running(1), blocked(2), paused(3), shutdown(4), "
               "shutoff(5), crashed(6), pmsuspended(7) }", agentx.INTEGER)
SEVERITY = Syntax("INTEGER { okay(0), warning(1), failure(2) }", agentx.INTEGER)
DISK_ERROR = Syntax("INTEGER { none(0), unspecified(1), noSpace(2) }", agentx.INTEGER)
VCPU_STATE = Syntax("INTEGER { offline(0), running(1), blocked(2) }", agentx.INTEGER)


@dataclasses.dataclass(frozen=True, slots=True)
class Column:
    name: str  # the MIB descriptor
    subid: int
    syntax: Syntax
    source: str
    description: str
    units: str = ""
    factor: float = 1  # extra families: catalog value times factor
    labels: tuple[tuple[str, str], ...] = ()  # extra families: the point's labels to pick
    access: str = "read-only"
    value_label: str = ""  # info families: the label whose value the column serves


@dataclasses.dataclass(frozen=True, slots=True)
class Table:
    name: str  # prefix of its descriptors: <name>Table, <name>Entry
    subid: int
    entry_type: str  # the SEQUENCE type name
    description: str
    index: tuple[str, ...]  # INDEX clause
    columns: tuple[Column, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class Scalar:
    column: Column


@dataclasses.dataclass(frozen=True, slots=True)
class Notification:
    name: str
    subid: int
    objects: tuple[str, ...]
    description: str
    event: str  # the enricher event name (enricher.libvirt.event_types) or "libvirt_down"


def _vm(name: str, subid: int, syntax: Syntax, source: str, description: str,
        units: str = "") -> Column:
    return Column("enrVm" + name, subid, syntax, source, description, units)


# Sub-identifiers under the module identity.
OBJECTS = 1
NOTIFICATIONS = 2
CONFORMANCE = 3
HEALTH = 1  # under OBJECTS
EVENT_OBJECTS = 9  # under OBJECTS: accessible-for-notify objects

HEALTH_SCALARS = (
    Column("enrLibvirtUp", 1, TRUTH, "family:libvirt_up",
           "Whether libvirt answered the last collection: true(1) or false(2)."),
    Column("enrCollectionTimestamp", 2, UNSIGNED32,
           "family:enricher_collection_timestamp_seconds",
           "Unix time of the last collection.", "seconds"),
    Column("enrCollectionDuration", 3, UNSIGNED32,
           "family:enricher_collection_duration_seconds",
           "Wall time of the last collection from libvirt.", "milliseconds", 1000),
    Column("enrDomains", 4, GAUGE32, "family:enricher_domains",
           "Domains in the last collection."),
    Column("enrDomainsUnresolved", 5, GAUGE32,
           "family:enricher_tenancy_unresolved_domains",
           "Domains in the last collection with no known project."),
    Column("enrDomainsSkipped", 6, GAUGE32, "family:enricher_domains_skipped",
           "Domains left out of the last collection because they vanished or their "
           "stats or metadata could not be read."),
)

VM_INDEX = Column("enrVmIndex", 1, INDEX, "derived:vm_index",
                  "The domain's index: its UUID as a 128-bit number modulo "
                  "2147483647, plus 1 (the next free value in the rare case two "
                  "UUIDs share it). Stable for the domain's lifetime, across "
                  "restarts of the enricher.",
                  access="not-accessible")

VM_TABLE = Table("enrVm", 2, "EnrVmEntry",
                 "One row per domain in the last collection, with its OpenStack tenancy.",
                 ("enrVmIndex",), (
    VM_INDEX,
    _vm("Uuid", 2, UTF8, "label:uuid", "The domain's UUID."),
    _vm("DomainName", 3, UTF8, "label:domain", "The domain's libvirt name."),
    _vm("InstanceName", 4, UTF8, "label:instance_name",
        "The Nova instance's display name; empty when unknown."),
    _vm("ProjectId", 5, UTF8, "label:project_id",
        "The owning project's id; empty when unknown."),
    _vm("ProjectName", 6, UTF8, "label:project_name",
        "The owning project's name; empty when unknown."),
    _vm("UserId", 7, UTF8, "label:user_id", "The owning user's id; empty when unknown."),
    _vm("UserName", 8, UTF8, "label:user_name",
        "The owning user's name; empty when unknown."),
    _vm("Flavor", 9, UTF8, "label:flavor", "The flavor's name; empty when unknown."),
    _vm("State", 10, STATE, "family:libvirt_domain_info_state",
        "The domain's state (libvirt's virDomainState)."),
    _vm("StateReason", 11, INTEGER32, "derived:state_reason",
        "Why the domain is in its state: libvirt's reason code for that state "
        "(e.g. virDomainCrashedReason for crashed)."),
    _vm("Vcpus", 12, GAUGE32, "family:libvirt_domain_info_vcpus",
        "Number of virtual CPUs of the domain."),
    _vm("MemoryMax", 13, GAUGE32, "family:libvirt_domain_info_memory_bytes",
        "Maximum memory of the domain.", "KiB"),
    _vm("CpuTime", 14, COUNTER64, "family:libvirt_domain_cpu_time_seconds_total",
        "CPU time used by the domain.", "nanoseconds"),
    _vm("BalloonCurrent", 15, GAUGE32,
        "family:libvirt_domain_memory_balloon_current_bytes",
        "Current balloon size: the memory assigned to the domain.", "KiB"),
    _vm("BalloonMaximum", 16, GAUGE32,
        "family:libvirt_domain_memory_balloon_maximum_bytes",
        "Maximum balloon size.", "KiB"),
    _vm("Up", 17, TRUTH, "derived:running",
        "Whether the domain is running: true(1) or false(2)."),
    _vm("TenancySource", 18, UTF8, "label:source",
        "Where the tenancy came from: metadata, nova-api, metadata+nova-api or none."),
))

DISK_TABLE = Table("enrDisk", 3, "EnrDiskEntry",
                   "One row per disk of each domain in the last collection.",
                   ("enrVmIndex", "enrDiskIndex"), (
    Column("enrDiskIndex", 1, INDEX, "derived:device_index",
           "The disk's position in the domain's definition, from 1.",
           access="not-accessible"),
    Column("enrDiskTarget", 2, UTF8, "label:device", "The disk's target device (vda)."),
    Column("enrDiskSerial", 3, UTF8, "description:serial",
           "The disk's serial: the Cinder volume id for volumes; empty when unknown."),
    Column("enrDiskReadBytes", 4, COUNTER64, "family:libvirt_domain_block_read_bytes_total",
           "Bytes read from the disk.", "bytes"),
    Column("enrDiskWriteBytes", 5, COUNTER64,
           "family:libvirt_domain_block_write_bytes_total",
           "Bytes written to the disk.", "bytes"),
    Column("enrDiskReadRequests", 6, COUNTER64,
           "family:libvirt_domain_block_read_requests_total", "Read requests to the disk."),
    Column("enrDiskWriteRequests", 7, COUNTER64,
           "family:libvirt_domain_block_write_requests_total",
           "Write requests to the disk."),
    Column("enrDiskFlushRequests", 8, COUNTER64,
           "family:libvirt_domain_block_flush_requests_total",
           "Flush requests to the disk."),
    Column("enrDiskErrorCode", 9, DISK_ERROR, "family:libvirt_domain_block_error",
           "The disk's error ([DEFAULT] extra_stats disk_err); absent when not "
           "collected, none(0) when the disk has no error."),
))

NIC_TABLE = Table("enrNic", 4, "EnrNicEntry",
                  "One row per network interface of each domain in the last collection.",
                  ("enrVmIndex", "enrNicIndex"), (
    Column("enrNicIndex", 1, INDEX, "derived:device_index",
           "The interface's position in the domain's definition, from 1.",
           access="not-accessible"),
    Column("enrNicTarget", 2, UTF8, "label:interface",
           "The interface's target device on the host (tap...)."),
    Column("enrNicMac", 3, MAC, "description:mac",
           "The interface's MAC address; absent when unknown."),
    Column("enrNicPortId", 4, UTF8, "description:port_id",
           "The Neutron port id of the interface; empty when unknown."),
    Column("enrNicRxBytes", 5, COUNTER64, "family:libvirt_domain_net_receive_bytes_total",
           "Bytes received.", "bytes"),
    Column("enrNicRxPackets", 6, COUNTER64,
           "family:libvirt_domain_net_receive_packets_total", "Packets received."),
    Column("enrNicRxErrors", 7, COUNTER64,
           "family:libvirt_domain_net_receive_errors_total", "Receive errors."),
    Column("enrNicRxDrops", 8, COUNTER64, "family:libvirt_domain_net_receive_drops_total",
           "Received packets dropped."),
    Column("enrNicTxBytes", 9, COUNTER64,
           "family:libvirt_domain_net_transmit_bytes_total", "Bytes transmitted.", "bytes"),
    Column("enrNicTxPackets", 10, COUNTER64,
           "family:libvirt_domain_net_transmit_packets_total", "Packets transmitted."),
    Column("enrNicTxErrors", 11, COUNTER64,
           "family:libvirt_domain_net_transmit_errors_total", "Transmit errors."),
    Column("enrNicTxDrops", 12, COUNTER64,
           "family:libvirt_domain_net_transmit_drops_total",
           "Transmitted packets dropped."),
))

VCPU_TABLE = Table("enrVcpu", 5, "EnrVcpuEntry",
                   "One row per virtual CPU of each domain in the last collection.",
                   ("enrVmIndex", "enrVcpuIndex"), (
    Column("enrVcpuIndex", 1, INDEX, "derived:vcpu_index",
           "The vCPU's number plus 1.", access="not-accessible"),
    Column("enrVcpuTime", 2, COUNTER64, "family:libvirt_domain_vcpu_time_seconds_total",
           "CPU time used by the virtual CPU.", "nanoseconds"),
    Column("enrVcpuState", 3, VCPU_STATE, "family:libvirt_domain_vcpu_state",
           "State of the virtual CPU."),
    Column("enrVcpuAffinity", 4, UTF8, "family:libvirt_domain_vcpu_affinity",
           "The host CPUs the vCPU may run on, as a list of numbers and ranges "
           "(0-3,8) ([DEFAULT] extra_stats vcpupin); absent when not collected.",
           value_label="cpu"),
))

_BG = (("kind", "background"),)


def _x(name: str, subid: int, syntax: Syntax, family: str, description: str,
       units: str = "", factor: float = 1, labels: tuple[tuple[str, str], ...] = (),
       value_label: str = "") -> Column:
    return Column("enrVmx" + name, subid, syntax, "family:" + family, description, units,
                  factor, labels, value_label=value_label)


EXTRA_TABLE = Table("enrVmx", 6, "EnrVmxEntry",
                    "The collectd virt plugin's extra statistics of each domain "
                    "([DEFAULT] extra_stats); a cell is absent when its selector is "
                    "not configured or had nothing to report.",
                    ("enrVmIndex",), (
    _x("CpuUtilization", 1, GAUGE32, "libvirt_domain_cpu_utilization_ratio",
       "CPU used between the last two collections as a share of the domain's vCPUs "
       "(cpu_util).", "hundredths of a percent", 10000),
    _x("CpuUtilizationHost", 2, GAUGE32, "libvirt_domain_cpu_utilization_host_cpu_ratio",
       "CPU used between the last two collections as a share of one host CPU "
       "(cpu_util; above 10000 when several vCPUs run).", "hundredths of a percent",
       10000),
    _x("StateSeverity", 3, SEVERITY, "libvirt_domain_state_severity",
       "The collectd virt plugin's severity of the domain's state (domain_state)."),
    _x("StateReason", 4, UTF8, "libvirt_domain_state_reason_info",
       "The reason the domain entered its state, readable (domain_state).",
       value_label="reason"),
    _x("JobType", 5, UTF8, "libvirt_domain_job_info",
       "Type of the domain's background job: bounded, unbounded, ... (job_stats).",
       labels=_BG, value_label="type"),
    _x("JobOperation", 6, UTF8, "libvirt_domain_job_info",
       "Operation of the domain's background job: migration_out, dump, ... "
       "(job_stats).", labels=_BG, value_label="operation"),
    _x("JobProgress", 7, GAUGE32, "libvirt_domain_job_progress_ratio",
       "Share of the background job's work done (job_stats).",
       "hundredths of a percent", 10000, _BG),
    _x("JobTimeElapsed", 8, GAUGE32, "libvirt_domain_job_time_elapsed_seconds",
       "Time since the background job started (job_stats).", "milliseconds", 1000, _BG),
    _x("JobTimeRemaining", 9, GAUGE32, "libvirt_domain_job_time_remaining_seconds",
       "Estimated time until the bounded background job ends (job_stats).",
       "milliseconds", 1000, _BG),
    _x("JobDataTotal", 10, GAUGE32, "libvirt_domain_job_data_total_bytes",
       "Data the background job has to transfer in total (job_stats).", "KiB",
       1 / 1024, _BG),
    _x("JobDataProcessed", 11, GAUGE32, "libvirt_domain_job_data_processed_bytes",
       "Data the background job has transferred (job_stats).", "KiB", 1 / 1024, _BG),
    _x("JobDataRemaining", 12, GAUGE32, "libvirt_domain_job_data_remaining_bytes",
       "Data the background job still has to transfer (job_stats).", "KiB", 1 / 1024,
       _BG),
    _x("JobDowntime", 13, GAUGE32, "libvirt_domain_job_downtime_seconds",
       "Time the domain was or is expected to be paused by the background job "
       "(job_stats).", "milliseconds", 1000, _BG),
))

# libvirt's perf events, in the order of virDomainGetPerfEvents' documentation.
PERF_EVENTS = (
    "cmt", "mbmt", "mbml", "cpu_cycles", "instructions", "cache_references",
    "cache_misses", "branch_instructions", "branch_misses", "bus_cycles",
    "stalled_cycles_frontend", "stalled_cycles_backend", "ref_cpu_cycles", "cpu_clock",
    "task_clock", "page_faults", "context_switches", "cpu_migrations",
    "page_faults_min", "page_faults_maj", "alignment_faults", "emulation_faults",
)

PERF_TABLE = Table("enrPerf", 7, "EnrPerfEntry",
                   "One row per perf event of each domain that libvirt reports or that "
                   "[DEFAULT] extra_stats perf shows enabled.",
                   ("enrVmIndex", "enrPerfEventIndex"), (
    Column("enrPerfEventIndex", 1, INDEX, "derived:perf_index",
           "The event's position in the list of libvirt perf events (1 cmt, 2 mbmt, "
           "3 mbml, 4 cpu_cycles, 5 instructions, ... as libvirt's "
           "virDomainGetPerfEvents documents them).", access="not-accessible"),
    Column("enrPerfEventName", 2, UTF8, "label:event", "The perf event's name."),
    Column("enrPerfEventCount", 3, COUNTER64, "family:libvirt_domain_perf_events_total",
           "The event's count; absent for the cmt and mbm gauges and disabled events."),
    Column("enrPerfEventEnabled", 4, TRUTH, "family:libvirt_domain_perf_event_enabled",
           "Whether the event is enabled for the domain (perf); absent when not "
           "collected."),
))

TABLES = (VM_TABLE, DISK_TABLE, NIC_TABLE, VCPU_TABLE, EXTRA_TABLE, PERF_TABLE)

EVENT_COLUMNS = (
    Column("enrEventType", 1, UTF8, "derived:event",
           "The event that caused the notification (crashed, watchdog, io_error, "
           "libvirt_down).", access="accessible-for-notify"),
    Column("enrEventDetail", 2, UTF8, "derived:detail",
           "The event's detail: the watchdog action, the I/O error action or "
           "reason, why libvirt is unreachable.", access="accessible-for-notify"),
)

_TENANCY = ("enrVmUuid", "enrVmDomainName", "enrVmInstanceName", "enrVmProjectId",
            "enrVmProjectName", "enrVmUserId", "enrVmUserName")
NOTIFICATIONS_ = (
    Notification("enrVmCrashed", 1, (*_TENANCY, "enrEventType", "enrEventDetail"),
                 "The domain crashed or stopped because its hypervisor failed.",
                 "crashed"),
    Notification("enrVmWatchdog", 2, (*_TENANCY, "enrEventType", "enrEventDetail"),
                 "The guest's watchdog fired; the detail is its action.", "watchdog"),
    Notification("enrVmIoError", 3, (*_TENANCY, "enrEventType", "enrEventDetail"),
                 "A disk I/O error in the guest; the detail is the action taken.",
                 "io_error"),
    Notification("enrLibvirtUnreachable", 4, ("enrLibvirtUp", "enrEventType",
                                              "enrEventDetail"),
                 "The enricher lost its connection to libvirtd.", "libvirt_down"),
)

# Catalog families of the per-VM sources not served over SNMP, and why.
_BALLOON = "guest balloon driver figures: Prometheus only"
_PER_HOST_CPU = "one series per host CPU: Prometheus only"
NOT_SERVED = {  # keyed like Column.source, so no name stands alone here
    "family:libvirt_domain_openstack_info": "its fields are the enrVmTable's columns",
    "family:libvirt_domain_info_maximum_vcpus": "Prometheus only",
    "family:libvirt_domain_timed_out": "Prometheus only",
    "family:libvirt_domain_memory_usage_bytes": "the same value as enrVmBalloonCurrent",
    "family:libvirt_domain_cpu_user_seconds_total": "Prometheus only",
    "family:libvirt_domain_cpu_system_seconds_total": "Prometheus only",
    "family:libvirt_domain_memory_rss_bytes": "Prometheus only",
    "family:libvirt_domain_memory_unused_bytes": _BALLOON,
    "family:libvirt_domain_memory_available_bytes": _BALLOON,
    "family:libvirt_domain_memory_usable_bytes": _BALLOON,
    "family:libvirt_domain_memory_disk_caches_bytes": _BALLOON,
    "family:libvirt_domain_memory_swap_in_bytes_total": _BALLOON,
    "family:libvirt_domain_memory_swap_out_bytes_total": _BALLOON,
    "family:libvirt_domain_memory_major_faults_total": _BALLOON,
    "family:libvirt_domain_memory_minor_faults_total": _BALLOON,
    "family:libvirt_domain_vcpu_wait_seconds_total": "Prometheus only",
    "family:libvirt_domain_vcpu_delay_seconds_total": "Prometheus only",
    "family:libvirt_domain_block_read_time_seconds_total": "Prometheus only",
    "family:libvirt_domain_block_write_time_seconds_total": "Prometheus only",
    "family:libvirt_domain_block_flush_time_seconds_total": "Prometheus only",
    "family:libvirt_domain_block_capacity_bytes": "Prometheus only (above Gauge32 in KiB for "
                                           "large volumes)",
    "family:libvirt_domain_block_allocation_bytes": "Prometheus only",
    "family:libvirt_domain_block_physical_bytes": "Prometheus only",
    "family:libvirt_domain_perf_cache_occupancy_bytes": "Prometheus only",
    "family:libvirt_domain_perf_memory_bandwidth_total_bytes_per_second": "Prometheus only",
    "family:libvirt_domain_perf_memory_bandwidth_local_bytes_per_second": "Prometheus only",
    "family:libvirt_domain_filesystem_info": "guest agent file systems: Prometheus only",
    "family:libvirt_domain_pcpu_time_seconds_total": _PER_HOST_CPU,
    "family:libvirt_domain_pcpu_vcpu_time_seconds_total": _PER_HOST_CPU,
    "family:libvirt_domain_memory_stats_updated_timestamp_seconds": "Prometheus only",
    "family:libvirt_domain_memory_hugetlb_allocations_total": "Prometheus only",
    "family:libvirt_domain_memory_hugetlb_allocation_failures_total": "Prometheus only",
    "family:libvirt_domain_memory_bandwidth_local_bytes_total": "resctrl MBM: Prometheus only",
    "family:libvirt_domain_memory_bandwidth_bytes_total": "resctrl MBM: Prometheus only",
    "family:libvirt_domain_memory_dirty_rate_bytes_per_second": "Prometheus only",
    "family:libvirt_domain_vcpu_memory_dirty_rate_bytes_per_second": "Prometheus only",
    "family:libvirt_domain_memory_dirty_rate_calculation_info": "Prometheus only",
    "family:libvirt_domain_memory_dirty_rate_calculation_start_timestamp_seconds":
        "Prometheus only",
    "family:libvirt_domain_memory_dirty_rate_calculation_period_seconds": "Prometheus only",
    "family:libvirt_domain_job_memory_total_bytes": "Prometheus only",
    "family:libvirt_domain_job_memory_processed_bytes": "Prometheus only",
    "family:libvirt_domain_job_memory_remaining_bytes": "Prometheus only",
    "family:libvirt_domain_job_memory_bandwidth_bytes_per_second": "Prometheus only",
    "family:libvirt_domain_job_memory_dirty_rate_pages_per_second": "Prometheus only",
    "family:libvirt_domain_job_memory_iterations": "Prometheus only",
    "family:libvirt_domain_job_disk_total_bytes": "Prometheus only",
    "family:libvirt_domain_job_disk_processed_bytes": "Prometheus only",
    "family:libvirt_domain_job_disk_remaining_bytes": "Prometheus only",
    "family:libvirt_domain_events_total": "events become notifications instead",
    "family:libvirt_domain_last_event_timestamp_seconds": "events become notifications instead",
}


def all_columns() -> tuple[Column, ...]:
    """Every object of the MIB that has a value: scalars, table columns, event objects."""
    found = list(HEALTH_SCALARS) + list(EVENT_COLUMNS)
    for table in TABLES:
        found += table.columns
    return tuple(found)


def families() -> frozenset[str]:
    """The catalog families some column serves."""
    return frozenset(c.source.partition(":")[2] for c in all_columns()
                     if c.source.startswith("family:"))


def not_served() -> dict[str, str]:
    """Catalog families of the per-VM sources not served over SNMP: name -> why."""
    return {key.partition(":")[2]: why for key, why in NOT_SERVED.items()}


def parse_oid(text: str) -> agentx.Oid:
    """``1.3.6.1.4.1.32473.1`` (a leading dot allowed) as a tuple; ValueError if not one."""
    parts = text.strip().lstrip(".").split(".")
    try:
        oid = tuple(int(p) for p in parts)
    except ValueError:
        raise ValueError("not a numeric OID: %r" % text) from None
    if len(oid) < 2 or oid[0] > 2 or any(p < 0 or p > 0xFFFFFFFF for p in oid):
        raise ValueError("not a valid OID: %r" % text)
    return oid


@dataclasses.dataclass(frozen=True, slots=True)
class Layout:
    """The OIDs of the MIB's objects under one base OID."""

    base: agentx.Oid

    def scalar(self, column: Column) -> agentx.Oid:
        return (*self.base, OBJECTS, HEALTH, column.subid, 0)

    def column(self, table: Table, column: Column) -> agentx.Oid:
        return (*self.base, OBJECTS, table.subid, 1, column.subid)

    def event_object(self, column: Column) -> agentx.Oid:
        return (*self.base, OBJECTS, EVENT_OBJECTS, column.subid, 0)

    def notification(self, notification: Notification) -> agentx.Oid:
        return (*self.base, NOTIFICATIONS, 0, notification.subid)

    def named(self) -> dict[str, agentx.Oid]:
        """Every object's OID (columns without an index) by descriptor."""
        found = {c.name: self.scalar(c)[:-1] for c in HEALTH_SCALARS}
        found.update({c.name: self.event_object(c)[:-1] for c in EVENT_COLUMNS})
        for table in TABLES:
            found[table.name + "Table"] = (*self.base, OBJECTS, table.subid)
            found[table.name + "Entry"] = (*self.base, OBJECTS, table.subid, 1)
            for column in table.columns:
                found[column.name] = self.column(table, column)
        for notification in NOTIFICATIONS_:
            found[notification.name] = self.notification(notification)
        return found
