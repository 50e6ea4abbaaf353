"""Options of the [events] group: libvirt domain events, their log and webhook."""

from __future__ import annotations

from oslo_config import cfg

from enricher.libvirt import event_types

GROUP = "events"

OPTS = [
    cfg.BoolOpt("enabled",
                default=True,
                help="Subscribe to libvirt domain events (lifecycle, reboot, "
                     "watchdog, I/O error, metadata change, ...), export them "
                     "as libvirt_domain_events_total, log them and refresh a "
                     "domain's tenancy as soon as its metadata changes. "
                     "Without events, tenancy is refreshed only when a domain "
                     "starts again or [libvirt] metadata_cache_ttl expires."),
    cfg.FloatOpt("stop_delay",
                 default=15.0,
                 min=0.0,
                 max=3600.0,
                 help="Seconds a stopped event is held back. If the domain "
                      "starts again within this window (a hard reboot is a "
                      "stop followed by a start), the stop is dropped, as "
                      "Nova does, so that a reboot does not look like a stop. "
                      "0 exports every stop at once."),
    cfg.IntOpt("retention",
               default=600,
               min=0,
               help="Seconds the event series of a domain are kept after the "
                    "domain is gone (undefined, or no longer listed by "
                    "libvirt), so that Prometheus scrapes the last increase "
                    "of its counters. Keep it longer than a few scrape "
                    "intervals."),
    cfg.IntOpt("queue_size",
               default=10000,
               min=1,
               help="Events received from libvirt and not yet dispatched that "
                    "are held in memory. Events beyond it are dropped and "
                    "counted in enricher_events_dropped_total."),
    cfg.BoolOpt("log",
                default=True,
                help="Log every event as one JSON object, with the domain's "
                     "tenancy, on the logger named enricher.event_log at INFO "
                     "level.\n\n"
                     "Related options:\n\n"
                     "* log_file: also write the objects, one per line, to a "
                     "file."),
    cfg.StrOpt("log_file",
               help="Also append every event as one JSON object per line to "
                    "this file (reopened if rotated). Unset means the JSON "
                    "objects only go to the service's log.\n\n"
                    "Related options:\n\n"
                    "* log: must be enabled."),
    cfg.URIOpt("webhook_url",
               schemes=["http", "https"],
               help="POST every event, as a JSON object with the domain's "
                    "tenancy, to this URL (for example an HA agent acting on "
                    "crashes and watchdog firings). Posts are sent by a "
                    "background thread from a bounded queue and never delay "
                    "collection. Unset disables the webhook.\n\n"
                    "Related options:\n\n"
                    "* webhook_events, webhook_timeout, webhook_retries, "
                    "webhook_queue_size."),
    cfg.ListOpt("webhook_events",
                item_type=cfg.types.String(choices=event_types.EVENT_TYPES),
                default=[],
                help="Event types sent to the webhook. Empty means every "
                     "type."),
    cfg.FloatOpt("webhook_timeout",
                 default=5.0,
                 min=0.1,
                 max=300.0,
                 help="Seconds to wait for the webhook to accept a connection "
                      "and to answer one post."),
    cfg.IntOpt("webhook_retries",
               default=3,
               min=0,
               help="Further attempts after a post to the webhook failed, with "
                    "exponential back-off starting at one second. An event "
                    "whose attempts all fail is dropped and counted in "
                    "enricher_event_webhook_dropped_total."),
    cfg.IntOpt("webhook_queue_size",
               default=1000,
               min=1,
               help="Events waiting to be posted to the webhook. When the "
                    "queue is full (the webhook is down or slow), new events "
                    "are dropped and counted in "
                    "enricher_event_webhook_dropped_total."),
    cfg.IntOpt("keepalive_interval",
               default=5,
               min=0,
               help="Seconds between keepalive probes of libvirtd on the "
                    "event connection, so that a daemon that died or hangs "
                    "is noticed and reconnected to even when no collection "
                    "runs. 0 disables keepalive.\n\n"
                    "Related options:\n\n"
                    "* keepalive_count."),
    cfg.IntOpt("keepalive_count",
               default=3,
               min=1,
               help="Keepalive probes without an answer after which the "
                    "connection to libvirtd is considered dead and closed.\n\n"
                    "Related options:\n\n"
                    "* keepalive_interval."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [(GROUP, OPTS)]
