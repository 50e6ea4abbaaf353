"""Options of the [DEFAULT] group for the collectd virt plugin's extra statistics."""

from __future__ import annotations

from oslo_config import cfg

from enricher.extra import catalog

OPTS = [
    cfg.ListOpt("extra_stats",
                item_type=cfg.types.String(choices=catalog.CHOICES),
                default=[],
                help="Extra statistics to collect, with the selectors and "
                     "semantics of the collectd virt plugin's ExtraStats "
                     "option. Selectors that need a per-domain libvirt call "
                     "(disk_err, fs_info, job_stats_*, perf, vcpupin, pcpu, "
                     "memory, dirtyrate) make it in the sampler after the bulk "
                     "call, in a small worker pool, each call bounded by a "
                     "timeout; a domain that hangs or fails loses only its own "
                     "extra series. Selectors the host or driver does not "
                     "support report nothing and are counted in "
                     "enricher_extra_calls_total. The plugin's disk, "
                     "disk_allocation, disk_capacity, disk_physical and vcpu "
                     "selectors are accepted as well: the core families export "
                     "their data. Empty (the default) exports nothing extra.\n\n"
                     "Related options:\n\n"
                     "* extra_stats_timeout, extra_stats_workers: bound the "
                     "per-domain calls.\n"
                     "* [libvirt] stats_groups: cpu_util, perf, pcpu and memory "
                     "add the bulk stats groups they rely on.\n"
                     "* [libvirt] read_only: fs_info and starting dirty rate "
                     "calculations need a read-write connection."),
    cfg.FloatOpt("extra_stats_timeout",
                 default=2.0,
                 min=0.1,
                 max=300.0,
                 help="Seconds to wait for one per-domain libvirt call of the "
                      "extra statistics. A call that takes longer is abandoned: "
                      "the domain's remaining extra calls are skipped, and the "
                      "domain is skipped in later collections until the stuck "
                      "call returns. A collection therefore waits at most about "
                      "this long for any one domain.\n\n"
                      "Related options:\n\n"
                      "* extra_stats_workers: domains are served in parallel."),
    cfg.IntOpt("extra_stats_workers",
               default=4,
               min=1,
               max=64,
               help="Worker threads that make the per-domain libvirt calls of "
                    "the extra statistics; each works on one domain at a time, "
                    "on a libvirt connection of its own. A worker stuck in a "
                    "call is replaced, so stuck domains do not starve the "
                    "others.\n\n"
                    "Related options:\n\n"
                    "* extra_stats_timeout: when a call counts as stuck."),
    cfg.IntOpt("extra_stats_dirtyrate_period",
               default=0,
               min=0,
               max=60,
               help="Seconds of the memory dirty rate calculation that the "
                    "dirtyrate selector starts on each running domain after "
                    "reading the previous result. 0 only reads results of "
                    "calculations started elsewhere (virsh domdirtyrate-calc). "
                    "A calculation adds guest overhead while it runs.\n\n"
                    "Related options:\n\n"
                    "* extra_stats: needs the dirtyrate selector.\n"
                    "* [libvirt] read_only: must be false to start "
                    "calculations."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [("DEFAULT", OPTS)]
