"""libvirt's event callbacks: names of lifecycle events, every callback, a full queue."""

from __future__ import annotations

import queue

import libvirt
import pytest

from enricher.health import ErrorCounts
from enricher.libvirt import events as libvirt_events
from enricher.libvirt.events import DomainEvent, Subscription

NOVA_1_1 = "http://openstack.org/xmlns/libvirt/nova/1.1"


def test_a_full_queue_drops_and_counts_instead_of_blocking_libvirt() -> None:
    errors = ErrorCounts()
    events: queue.Queue = queue.Queue(maxsize=1)
    subscription = Subscription(events, errors)
    event = DomainEvent("u1", "vm1", "reboot", "", 1.0)
    subscription.put(event)
    subscription.put(event)
    assert subscription.dropped == 1
    assert errors.get("events", "queue_full") == 1


@pytest.mark.parametrize(("event", "detail", "want"), [
    (libvirt.VIR_DOMAIN_EVENT_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_CRASHED,
     ("stopped", "crashed")),
    (libvirt.VIR_DOMAIN_EVENT_SUSPENDED, libvirt.VIR_DOMAIN_EVENT_SUSPENDED_IOERROR,
     ("suspended", "ioerror")),
    (libvirt.VIR_DOMAIN_EVENT_PMSUSPENDED, libvirt.VIR_DOMAIN_EVENT_PMSUSPENDED_DISK,
     ("pmsuspended", "disk")),
    (libvirt.VIR_DOMAIN_EVENT_CRASHED, libvirt.VIR_DOMAIN_EVENT_CRASHED_PANICKED,
     ("crashed", "panicked")),
    (libvirt.VIR_DOMAIN_EVENT_DEFINED, libvirt.VIR_DOMAIN_EVENT_DEFINED_UPDATED,
     ("defined", "updated")),
    (libvirt.VIR_DOMAIN_EVENT_SHUTDOWN, libvirt.VIR_DOMAIN_EVENT_SHUTDOWN_GUEST,
     ("shutdown", "guest")),
    (99, 7, ("lifecycle_99", "7")),  # from a newer libvirt: kept, by number
])
def test_lifecycle_names_follow_libvirt(event: int, detail: int,
                                        want: tuple[str, str]) -> None:
    assert libvirt_events.lifecycle(event, detail) == want


# Arguments libvirt passes each callback (between the domain and the opaque).
CALLBACK_ARGS = {
    "VIR_DOMAIN_EVENT_ID_LIFECYCLE": ((2, 0), ("started", "booted")),
    "VIR_DOMAIN_EVENT_ID_REBOOT": ((), ("reboot", "")),
    "VIR_DOMAIN_EVENT_ID_WATCHDOG": ((2,), ("watchdog", "reset")),
    "VIR_DOMAIN_EVENT_ID_IO_ERROR": (("/d", "vda", 1), ("io_error", "pause")),
    "VIR_DOMAIN_EVENT_ID_IO_ERROR_REASON": (("/d", "vda", 2, "eio"),
                                            ("io_error_reason", "eio")),
    "VIR_DOMAIN_EVENT_ID_METADATA_CHANGE": ((2, NOVA_1_1), ("metadata_change", "element")),
    "VIR_DOMAIN_EVENT_ID_DEVICE_ADDED": (("net1",), ("device_added", "")),
    "VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED": (("net1",), ("device_removed", "")),
    "VIR_DOMAIN_EVENT_ID_DEVICE_REMOVAL_FAILED": (("net1",), ("device_removal_failed", "")),
    "VIR_DOMAIN_EVENT_ID_CONTROL_ERROR": ((), ("control_error", "")),
    "VIR_DOMAIN_EVENT_ID_JOB_COMPLETED": (({"operation": 5},),
                                          ("job_completed", "migration_out")),
    "VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE": ((1, 2), ("agent_lifecycle", "connected")),
}


def test_every_callback_yields_a_documented_event() -> None:
    from enricher.events import types

    assert {c for c, _ in libvirt_events.CALLBACKS} == set(CALLBACK_ARGS)
    for constant, convert in libvirt_events.CALLBACKS:
        args, want = CALLBACK_ARGS[constant]
        event, detail, _attrs = convert(*args)
        assert (event, detail) == want, constant
        assert event in types.EVENT_NAMES
