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


# (VIR_DOMAIN_EVENT_<event>, VIR_DOMAIN_EVENT_<detail>) -> (event, detail) as exported.
LIFECYCLE = [
    ("STOPPED", "STOPPED_CRASHED", ("stopped", "crashed")),
    ("SUSPENDED", "SUSPENDED_IOERROR", ("suspended", "ioerror")),
    ("PMSUSPENDED", "PMSUSPENDED_DISK", ("pmsuspended", "disk")),
    ("CRASHED", "CRASHED_PANICKED", ("crashed", "panicked")),
    ("DEFINED", "DEFINED_UPDATED", ("defined", "updated")),
    ("SHUTDOWN", "SHUTDOWN_GUEST", ("shutdown", "guest")),
]


@pytest.mark.parametrize(("event", "detail", "want"), LIFECYCLE)
def test_lifecycle_names_follow_libvirt(event: str, detail: str,
                                        want: tuple[str, str]) -> None:
    assert libvirt_events.lifecycle(getattr(libvirt, "VIR_DOMAIN_EVENT_" + event),
                                    getattr(libvirt, "VIR_DOMAIN_EVENT_" + detail)) == want


def test_a_lifecycle_event_of_a_newer_libvirt_is_kept_by_number() -> None:
    assert libvirt_events.lifecycle(99, 7) == ("lifecycle_99", "7")


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
    from enricher.libvirt import event_types as types

    assert {c for c, _ in libvirt_events.CALLBACKS} == set(CALLBACK_ARGS)
    for constant, convert in libvirt_events.CALLBACKS:
        args, want = CALLBACK_ARGS[constant]
        event, detail, _attrs = convert(*args)
        assert (event, detail) == want, constant
        assert event in types.EVENT_NAMES
