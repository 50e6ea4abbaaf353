"""Options of the [masakari] group: instance HA notifications from domain events."""

from __future__ import annotations

from oslo_config import cfg

GROUP = "masakari"

# The events masakari-instancemonitor reports (see enricher.events.masakari).
EVENT_KINDS = ("suspended", "stopped", "shutdown", "reboot", "watchdog", "io_error",
               "io_error_reason", "control_error")

OPTS = [
    cfg.BoolOpt("enabled",
                default=False,
                help="Post a Masakari ``type: VM`` notification for every domain "
                     "event masakari-instancemonitor would report (stop, "
                     "watchdog, I/O error, reboot, ...), with the same payload, "
                     "so that this service replaces masakari-instancemonitor on "
                     "the compute node. Needs [events] enabled and the "
                     "keystoneauth options of [service_credentials] (or [nova] "
                     "cloud). Notifications are sent by a background thread "
                     "from a bounded queue and never delay collection.\n\n"
                     "Related options:\n\n"
                     "* events, retry_window, timeout, queue_size, host."),
    cfg.ListOpt("events",
                item_type=cfg.types.String(choices=EVENT_KINDS),
                default=list(EVENT_KINDS),
                help="Event types sent to Masakari; only the details "
                     "masakari-instancemonitor reports are sent (a stop, for "
                     "example, only when shut down, destroyed or failed, and "
                     "after [events] stop_delay without a start)."),
    cfg.FloatOpt("retry_window",
                 default=300.0,
                 min=0.0,
                 max=86400.0,
                 help="Seconds after an event during which a notification that "
                      "failed (5xx, timeout, Masakari or Keystone unreachable) "
                      "is retried with exponential back-off (1 s doubling up to "
                      "30 s). After it the notification is dropped and counted "
                      "in enricher_event_masakari_dropped_total. A 409 "
                      "(Masakari already has the notification) counts as sent; "
                      "another 4xx drops it at once."),
    cfg.FloatOpt("timeout",
                 default=10.0,
                 min=0.1,
                 max=300.0,
                 help="Seconds to wait for Keystone or Masakari to answer one "
                      "request."),
    cfg.IntOpt("queue_size",
               default=1000,
               min=1,
               help="Notifications waiting to be posted. When the queue is "
                    "full, new ones are dropped and counted in "
                    "enricher_event_masakari_dropped_total."),
    cfg.StrOpt("host",
               help="The host name in the notifications: Masakari's name "
                    "of this compute node in its failover segment. Unset "
                    "means [nova] host, or the system's host name, as "
                    "masakari-instancemonitor does."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [(GROUP, OPTS)]
