"""Options of the [api] group: vAdvisor's REST API and the vm_up metric."""

from __future__ import annotations

from oslo_config import cfg

GROUP = "api"

OPTS = [
    cfg.BoolOpt("enabled",
                default=True,
                help="Serve the REST API (/api/v1.0/stats, /events, /specs and "
                     "/openapi.json, as vAdvisor does) and keep the minute of "
                     "history and the recent events it serves. Related "
                     "options: host, port."),
    cfg.HostAddressOpt("host",
                       help="Address the API listens on when it has a port of "
                            "its own. Unset: [prometheus] host. Related "
                            "options: port."),
    cfg.PortOpt("port",
                help="Port of the API. Unset or equal to [prometheus] port: "
                     "the API is served on the /metrics port; otherwise by a "
                     "second server on this port, with the [prometheus] "
                     "connection limits."),
    cfg.FloatOpt("history_interval",
                 min=1.0, max=60.0,
                 help="Seconds between two samples of a domain in the "
                      "minute of history of /api/v1.0/stats. Unset: the "
                      "sampler's [DEFAULT] interval. Finer than the interval "
                      "(vAdvisor samples every second), a light collection "
                      "reads only what is cheap (state, CPU and vCPU times, "
                      "interface counters) that often and carries the "
                      "other figures from the last full collection."),
    cfg.IntOpt("history_seconds",
               default=60, min=1, max=3600,
               help="Seconds of history kept per domain (vAdvisor: 60)."),
    cfg.IntOpt("event_history",
               default=1000, min=0, max=1000000,
               help="Most recent domain events kept for /api/v1.0/events "
                    "(the oldest goes first). 0 keeps none: only streams "
                    "see events."),
    cfg.IntOpt("max_streams",
               default=64, min=0, max=65536,
               help="Most /api/v1.0/events?stream=true responses open at "
                    "once; one more is answered 503. Streams count against "
                    "[prometheus] max_connections but are never closed to "
                    "make room for a scraper, so keep this well below it."),
    cfg.FloatOpt("stream_keepalive",
                 default=10.0, min=0.1, max=15.0,
                 help="Seconds of silence after which a stream sends an empty "
                      "keep-alive line, so that proxies keep it open."),
    cfg.IntOpt("vm_up_stale_period",
               default=600, min=0,
               help="Seconds vm_up reports 0 for a domain that shut off or "
                    "disappeared, before its series goes away. While libvirt "
                    "does not answer, every domain keeps its last value."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [(GROUP, OPTS)]
