"""The Masakari sink: ``type: VM`` notifications, as masakari-instancemonitor posts them.

Masakari's instance monitor reports a fixed set of libvirt events; each
becomes a payload ``{event, instance_uuid, vir_domain_event}`` where
``event`` names the libvirt event ID (LIFECYCLE, REBOOT, WATCHDOG, ...) and
``vir_domain_event`` the detail. Events outside that set are not sent, so
that Masakari sees exactly what it would have seen from its own monitor.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Collection
from typing import Any

from enricher.events.retrying import RetryingSink
from enricher.health import ThreadHealth
from enricher.libvirt.events import DomainEvent

NOTIFICATION_TYPE = "VM"
UNKNOWN = "UNKNOWN"

# enricher event -> (Masakari payload event, {enricher detail: vir_domain_event});
# a None detail table means every detail, reported as UNKNOWN.
_LIFECYCLE = "LIFECYCLE"
MAPPING: dict[str, tuple[str, dict[str, str] | None]] = {
    "suspended": (_LIFECYCLE, {"ioerror": "SUSPENDED_IOERROR",
                               "watchdog": "SUSPENDED_WATCHDOG",
                               "api_error": "SUSPENDED_API_ERROR"}),
    "stopped": (_LIFECYCLE, {"shutdown": "STOPPED_SHUTDOWN",
                             "destroyed": "STOPPED_DESTROYED",
                             "failed": "STOPPED_FAILED"}),
    "shutdown": (_LIFECYCLE, {"finished": "SHUTDOWN_FINISHED"}),
    "reboot": ("REBOOT", None),
    "watchdog": ("WATCHDOG", {a: "WATCHDOG_" + a.upper()
                              for a in ("none", "pause", "reset", "poweroff",
                                        "shutdown", "debug")}),
    "io_error": ("IO_ERROR", {a: "IO_ERROR_" + a.upper()
                              for a in ("none", "pause", "report")}),
    "io_error_reason": ("IO_ERROR_REASON", None),
    "control_error": ("CONTROL_ERROR", None),
}
EVENTS = tuple(MAPPING)


def payload(event: DomainEvent) -> dict[str, str] | None:
    """The notification payload masakari-instancemonitor sends for ``event``, or None."""
    entry = MAPPING.get(event.event)
    if entry is None:
        return None
    kind, details = entry
    detail = UNKNOWN if details is None else details.get(event.detail)
    if detail is None:
        return None
    return {"event": kind, "instance_uuid": event.uuid, "vir_domain_event": detail}


def notification(event: DomainEvent, hostname: str) -> dict[str, Any] | None:
    """The keyword arguments of ``create_notification`` for ``event``, or None."""
    body = payload(event)
    if body is None:
        return None
    when = datetime.datetime.fromtimestamp(event.timestamp, datetime.timezone.utc)
    return {"type": NOTIFICATION_TYPE, "hostname": hostname,
            "generated_time": when.replace(tzinfo=None).isoformat(timespec="microseconds"),
            "payload": body}


class MasakariSink(RetryingSink):
    """Posts the notification of each mapped event, retried for ``retry_window`` s.

    ``send`` posts one notification (the keyword arguments of
    ``create_notification``) and raises ``Retry`` or ``Reject``; a 409
    (Masakari already has it) must return normally.
    """

    def __init__(self, send: Callable[[dict[str, Any]], None], hostname: str, *,
                 events: Collection[str] = EVENTS, retry_window: float = 300.0,
                 queue_size: int = 1000, retry_delay: float = 1.0,
                 retry_max: float = 30.0, threads: ThreadHealth | None = None) -> None:
        self.hostname = hostname
        self._events = frozenset(events)
        super().__init__("event-masakari", send, queue_size=queue_size, retries=None,
                         retry_window=retry_window, retry_delay=retry_delay,
                         retry_max=retry_max, jitter=0.2, threads=threads)

    def submit_event(self, event: DomainEvent) -> bool:
        """Queue the notification of ``event`` if it is one Masakari is sent."""
        if event.event not in self._events:
            return False
        body = notification(event, self.hostname)
        return body is not None and self.submit(body)
