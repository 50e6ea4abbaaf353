"""The event vocabulary: names of the libvirt domain events the enricher exports.

Kept free of libvirt-python so that the configuration and docs tooling can
import it.
"""

from __future__ import annotations

# (value of the ``event`` label, what it means); libvirt's lifecycle events
# first, in virDomainEventType order, then the other event IDs.
LIFECYCLE = (
    ("defined", "The domain was defined or its definition updated (detail: added, "
                "updated, renamed, from_snapshot)."),
    ("undefined", "The domain's definition was removed (detail: removed, renamed)."),
    ("started", "The domain started (detail: booted, migrated, restored, "
                "from_snapshot, wakeup, recreated)."),
    ("suspended", "The domain was paused (detail: paused, migrated, ioerror, watchdog, "
                  "restored, from_snapshot, api_error, postcopy, postcopy_failed)."),
    ("resumed", "The domain was unpaused (detail: unpaused, migrated, from_snapshot, "
                "postcopy, postcopy_failed)."),
    ("stopped", "The domain stopped (detail: shutdown, destroyed, crashed, migrated, "
                "saved, failed, from_snapshot)."),
    ("shutdown", "The guest shut down; the domain is about to stop (detail: finished, "
                 "guest, host)."),
    ("pmsuspended", "The guest suspended itself through power management (detail: "
                    "memory, disk)."),
    ("crashed", "The guest crashed (detail: panicked, crashloaded)."),
)

OTHER = (
    ("reboot", "The domain was reset (guest reboot or virDomainReset)."),
    ("watchdog", "The guest's watchdog fired (detail: the action, e.g. pause, reset, "
                 "poweroff)."),
    ("io_error", "A disk I/O error (detail: the action taken: none, pause, report)."),
    ("io_error_reason", "A disk I/O error with its reason (detail: e.g. enospc, eio, "
                        "eperm)."),
    ("metadata_change", "The domain's metadata changed (detail: description, title, "
                        "element). Nova rewrites nova:instance on resize and interface "
                        "attach or detach."),
    ("device_added", "A device was hot-plugged."),
    ("device_removed", "A device was hot-unplugged."),
    ("device_removal_failed", "Hot-unplugging a device failed."),
    ("control_error", "libvirt lost control of the domain's hypervisor process "
                      "(e.g. the QEMU monitor broke)."),
    ("job_completed", "A job finished (detail: the operation, e.g. migration_out, "
                      "save, snapshot, dump, backup)."),
    ("agent_lifecycle", "The guest agent connected or disconnected (detail: connected, "
                        "disconnected)."),
)

EVENT_TYPES = LIFECYCLE + OTHER
EVENT_NAMES = tuple(name for name, _ in EVENT_TYPES)
