"""Options of the [statsd] group: push per-VM gauges and counters to a StatsD server."""

from __future__ import annotations

from oslo_config import cfg

from enricher.exporters.statsd import selection
from enricher.tenancy import model

GROUP = "statsd"
DEFAULT_PORT = 8125
# Seconds between sends when [DEFAULT] interval is 0 (collect at scrape time);
# vAdvisor's --statsd-interval default.
FALLBACK_INTERVAL = 15.0
# What the path of a line may hold in [statsd] prefix: dotted words.
PREFIX_REGEX = r"^([A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*)?$"
# Fields a name may carry with tag_format = none: the tenant label fields and
# the domain's own name and UUID.
NAME_FIELDS = ("uuid", "domain", *model.LABEL_FIELDS)
TAG_FORMATS = [
    ("none", "Plain StatsD (Etsy statsd, Graphite): no tags; each name carries "
             "the fields of name_labels as escaped path segments."),
    ("dogstatsd", "DogStatsD tags after the type: ``name:1|g|#project_name:demo,...`` "
                  "(Datadog agent, Telegraf with datadog_extensions, statsd_exporter)."),
    ("influxdb", "InfluxDB-style tags in the name: ``name,project_name=demo:1|g`` "
                 "(Telegraf's statsd input, statsd_exporter)."),
]
COUNTER_MODES = [
    ("delta", "StatsD counters (``|c``) of the increase since the previous send, "
              "what StatsD servers sum and turn into rates. A counter's first "
              "send after start-up (or after its domain appears) sets the "
              "baseline and sends nothing; a counter that went down (the "
              "domain restarted) sends its new value."),
    ("gauge", "Gauges (``|g``) of the running total, for backends that derive "
              "rates themselves (Graphite nonNegativeDerivative, InfluxDB "
              "derivative). Robust to lost datagrams, and to Telegraf, whose "
              "statsd input truncates fractional counter values to integers."),
]

OPTS = [
    cfg.BoolOpt("enabled",
                default=False,
                help="Send every domain's gauges and counters to a StatsD "
                     "server over UDP, from the latest snapshot, on the "
                     "schedule of interval. A background thread sends them: "
                     "collection and scrapes never wait for it, and a target "
                     "that is down, unresolvable or refusing costs a log line "
                     "and a count in enricher_errors_total{source=\"statsd\"}, "
                     "never the service.\n\n"
                     "Related options:\n\n"
                     "* host, port, interval, prefix, tag_format."),
    cfg.HostAddressOpt("host",
                       default="127.0.0.1",
                       help="StatsD server (name or address) to send to. A name "
                            "is resolved by the sending thread, again after "
                            "every failure and every 5 minutes."),
    cfg.PortOpt("port",
                default=DEFAULT_PORT,
                help="UDP port of the StatsD server."),
    cfg.FloatOpt("interval",
                 min=1.0,
                 max=3600.0,
                 sample_default="[DEFAULT] interval",
                 help="Seconds between two sends. Unset means the sampler's "
                      "[DEFAULT] interval, or %g s when that is 0 (each send "
                      "then collects, as a scrape would). Sends read the "
                      "latest snapshot: an interval shorter than the "
                      "sampler's sends the same values again (and zero "
                      "counter deltas)." % FALLBACK_INTERVAL),
    cfg.StrOpt("prefix",
               default="enricher",
               regex=PREFIX_REGEX,
               help="First segments of every name: words of letters, digits, "
                    "``_`` and ``-`` joined by dots, or empty for none. "
                    "vAdvisor's names start with ``vm``."),
    cfg.StrOpt("tag_format",
               default="none",
               choices=TAG_FORMATS,
               help="How a line carries the domain and its tenancy. With "
                    "tags, the domain, uuid and [prometheus] tenant_labels "
                    "become tags, and the device, interface or vCPU a tag "
                    "too; empty values are left out. Values are escaped as "
                    "the documentation says, so no tenant name can break a "
                    "line."),
    cfg.ListOpt("name_labels",
                item_type=cfg.types.String(choices=NAME_FIELDS),
                default=["project_name", "uuid"],
                help="With tag_format = none, the fields each name carries "
                     "after prefix, in order, as escaped path segments "
                     "(``_`` when unknown): "
                     "``<prefix>.<project_name>.<uuid>.<metric>[.<device>]``. "
                     "uuid is the domain's UUID (Nova's instance UUID)."),
    cfg.ListOpt("metrics",
                item_type=cfg.types.String(choices=selection.SENDABLE),
                default=list(selection.DEFAULT_METRICS),
                help="Metric families sent, by their /metrics name: about what "
                     "vAdvisor sends by default (state, CPU, vCPU, memory, disk "
                     "and network I/O). Empty sends every per-VM gauge and "
                     "counter (info series excepted), about twice the lines. "
                     "Families of [DEFAULT] extra_stats are only there when "
                     "their selector is on."),
    cfg.StrOpt("counters",
               default="delta",
               choices=COUNTER_MODES,
               help="How counters (the catalog's ``_total`` families) are sent."),
    cfg.IntOpt("max_datagram_bytes",
               default=1432,
               min=64,
               max=65507,
               help="Largest UDP payload sent. Lines are packed into datagrams "
                    "up to this size and never split; a line longer than it "
                    "is dropped and counted. 1432, the DogStatsD clients' "
                    "default, fits a 1500-byte MTU with the IPv6 and UDP "
                    "headers, so nothing is fragmented; raise it for a "
                    "loopback target (MTU 65536) to send fewer datagrams."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [(GROUP, OPTS)]


def send_interval(conf: cfg.ConfigOpts) -> float:
    """Seconds between sends: [statsd] interval, else the sampler's, else the fallback."""
    if conf.statsd.interval is not None:
        return conf.statsd.interval
    return conf.interval if conf.interval > 0 else FALLBACK_INTERVAL
