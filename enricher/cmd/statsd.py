"""Build the StatsD sender from ``[statsd]`` (and ``[prometheus] tenant_labels``)."""

from __future__ import annotations

from oslo_config import cfg

from enricher.conf import statsd as statsd_conf
from enricher.exporters.statsd.exporter import StatsdExporter
from enricher.exporters.statsd.lines import Formatter, Layout
from enricher.exporters.statsd.sender import UdpSender
from enricher.health import ErrorCounts
from enricher.sampler import Sampler


def layout(conf: cfg.ConfigOpts) -> Layout:
    opts = conf.statsd
    return Layout(tag_format=opts.tag_format, prefix=opts.prefix,
                  name_labels=tuple(opts.name_labels),
                  tenant_labels=tuple(conf.prometheus.tenant_labels),
                  counters=opts.counters, metrics=tuple(opts.metrics))


def statsd_exporter(conf: cfg.ConfigOpts, sampler: Sampler, errors: ErrorCounts
                    ) -> StatsdExporter | None:
    """The StatsD sender (not started), or None when ``[statsd] enabled`` is false."""
    opts = conf.statsd
    if not opts.enabled:
        return None
    if opts.tag_format == "none" and not opts.name_labels:
        raise cfg.Error("[statsd] name_labels may not be empty with tag_format = none: "
                        "every domain's lines would have the same names")
    interval = statsd_conf.send_interval(conf)
    exporter = StatsdExporter(sampler.latest, Formatter(layout(conf)),
                              UdpSender(opts.host, opts.port), errors, interval,
                              opts.max_datagram_bytes)
    if interval == sampler.interval:
        exporter.follow = True  # each snapshot once, right after it is collected
        sampler.on_snapshot.append(lambda _snapshot: exporter.wake())
    return exporter
