"""Options of the [libvirt] group: how to reach libvirtd and what to ask it."""

from __future__ import annotations

from oslo_config import cfg

GROUP = "libvirt"

STATS_GROUPS = (
    ("state", "Domain state and reason."),
    ("cpu", "Total, user and system CPU time."),
    ("balloon", "Balloon and guest memory statistics."),
    ("vcpu", "Per-vCPU state, time, wait and delay."),
    ("interface", "Per-NIC bytes, packets, errors and drops."),
    ("block", "Per-disk I/O bytes, requests, times, capacity and allocation."),
    ("perf", "perf event counters, where the host enables them."),
)

OPTS = [
    cfg.StrOpt("connection_uri",
               default="qemu:///system",
               help="libvirt connection URI. Use a test driver URI such as "
                    "test:///path/to/node.xml for a demo without VMs."),
    cfg.BoolOpt("read_only",
                default=True,
                help="Open a read-only libvirt connection. Every call the "
                     "enricher makes works read-only, so leave this on unless "
                     "the libvirt access policy requires otherwise."),
    cfg.ListOpt("stats_groups",
                item_type=cfg.types.String(choices=STATS_GROUPS),
                default=[name for name, _ in STATS_GROUPS],
                help="Stats groups asked of libvirt in the one bulk call per "
                     "collection. Most groups cost a QMP round trip into every "
                     "QEMU process, so drop the ones you do not graph. The "
                     "state group is always collected."),
    cfg.ListOpt("slow_stats_groups",
                item_type=cfg.types.String(choices=STATS_GROUPS),
                default=["balloon", "vcpu"],
                help="Stats groups (among stats_groups) asked for only every "
                     "slow_stats_every-th collection; in between, each "
                     "domain's last values are exported again. Each group "
                     "except state, interface and perf costs a QMP round "
                     "trip into every QEMU, so this trades freshness of "
                     "slowly-moving figures (guest memory statistics) for "
                     "host CPU. Empty means every group every time. The cpu "
                     "and vcpu groups are not asked at all for domains whose "
                     "figures cpu_time_from_cgroup and vcpu_times_from_proc "
                     "read on the host; for the others, vcpu here makes "
                     "libvirt's vcpu group slow. Adding block (two round trips "
                     "per domain) cuts the host's cost most, but disk counters "
                     "then move once per slow collection.\n\n"
                     "Related options:\n\n"
                     "* slow_stats_every\n"
                     "* [DEFAULT] interval"),
    cfg.IntOpt("slow_stats_every",
               default=4,
               min=1,
               help="How many collections apart slow_stats_groups are asked "
                    "for: with the default interval of 15 s, every minute. 1 "
                    "asks for them on every collection.\n\n"
                    "Related options:\n\n"
                    "* slow_stats_groups"),
    cfg.BoolOpt("cpu_time_from_cgroup",
                default=True,
                help="Read running domains' total, user and system CPU time "
                     "from their cgroups (the files libvirt itself reads) on "
                     "every collection, instead of asking libvirt's cpu stats "
                     "group for them. Since libvirt 9.0 that group also asks "
                     "every QEMU for halt-polling statistics (which the "
                     "enricher does not export), a QMP round trip per VM. "
                     "Needs a local qemu:// connection and "
                     "read access to qemu_pid_dir, /proc and /sys/fs/cgroup; "
                     "a domain whose cgroup cannot be read gets the cpu group "
                     "from libvirt every time instead (logged once).\n\n"
                     "Related options:\n\n"
                     "* qemu_pid_dir\n"
                     "* vcpu_times_from_proc"),
    cfg.BoolOpt("vcpu_times_from_proc",
                default=True,
                help="Read running domains' per-vCPU time, run-queue delay and "
                     "wait from their QEMU vCPU threads in /proc (the files "
                     "libvirt itself reads) on every collection, instead of "
                     "asking libvirt's vcpu stats group. That group also asks "
                     "every QEMU for halted state and KVM statistics (which "
                     "the enricher does not export), two QMP round trips per "
                     "VM. The vCPU counts come from the thread names and "
                     "QEMU's -smp argument. Needs a local qemu:// connection "
                     "and read access to qemu_pid_dir and /proc; a domain "
                     "whose threads cannot be read gets the vcpu group from "
                     "libvirt instead (logged once).\n\n"
                     "Related options:\n\n"
                     "* qemu_pid_dir\n"
                     "* cpu_time_from_cgroup\n"
                     "* slow_stats_groups"),
    cfg.StrOpt("qemu_pid_dir",
               default="/run/libvirt/qemu",
               help="Directory of libvirt's QEMU pid files (<domain name>.pid), "
                    "used to find each domain's cgroup. In a container, mount "
                    "it from the host; each pid is checked against the "
                    "domain's UUID on the QEMU command line.\n\n"
                    "Related options:\n\n"
                    "* cpu_time_from_cgroup\n"
                    "* vcpu_times_from_proc"),
    cfg.IntOpt("metadata_cache_ttl",
               default=0,
               min=0,
               help="Seconds after which a domain's Nova metadata is read "
                    "again even if nothing says it changed. 0 means never: "
                    "it is re-read when the domain is first seen and when it "
                    "is started again (Nova regenerates the XML on hard "
                    "reboot, resize and migration)."),
    cfg.FloatOpt("stats_timeout",
                 default=30.0,
                 min=0.0,
                 help="Seconds a stats call to libvirt may take. libvirt has no "
                      "deadline on a QEMU monitor command, so one QEMU that "
                      "stops answering would hold every collection; past this "
                      "deadline the call is left behind and made again at once, "
                      "without that domain's monitor figures, and the domain is "
                      "marked by libvirt_domain_timed_out. Keep it well above a "
                      "healthy collection's duration "
                      "(enricher_collection_duration_seconds). 0 waits for ever."),
    cfg.IntOpt("reconnect_max_interval",
               default=60,
               min=1,
               help="Upper bound, in seconds, of the back-off between "
                    "attempts to reconnect to libvirtd."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [(GROUP, OPTS)]
