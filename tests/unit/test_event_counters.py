"""Event counters: retention of a gone domain's series, counts across tenancy changes."""

from __future__ import annotations

from collections.abc import Mapping

from enricher.events.counters import EventCounters
from enricher.libvirt.events import DomainEvent
from enricher.sampler import Snapshot
from enricher.tenancy import model

TENANT_LABELS = ("instance_uuid", "project_id", "project_name", "user_id",
                 "user_name", "flavor")


def _snapshot(tenancy: Mapping[str, model.Tenancy], collected_at: float,
              libvirt_up: bool = True) -> Snapshot:
    return Snapshot(samples=(), tenancy=tenancy, libvirt_up=libvirt_up,
                    collected_at=collected_at, duration=0.0)


def test_events_of_a_gone_domain_expire_after_the_retention() -> None:
    now = [1000.0]
    counters = EventCounters(TENANT_LABELS, retention=600, clock=lambda: now[0])
    tenancy = model.Tenancy(instance_uuid="u1", project_id="p1")

    def event(name: str, at: float) -> DomainEvent:
        return DomainEvent("u1", "vm1", name, "", at)

    def series() -> int:
        rows = counters.rows()
        return len(rows.counts) + len(rows.last)

    counters.record(event("started", 990.0), tenancy)
    # A collection older than the event does not make the domain gone.
    now[0] = 5000.0
    counters.on_snapshot(_snapshot({"other": model.NO_TENANCY}, 980.0))
    assert series() == 2
    # Listed by a newer collection: present; then missing from one: gone from then on.
    counters.on_snapshot(_snapshot({"u1": tenancy}, 1000.0))
    assert series() == 2
    now[0] = 5599.0
    counters.on_snapshot(_snapshot({"other": model.NO_TENANCY}, 5000.0))
    assert series() == 2
    # libvirt down says nothing about the domain; the retention runs on snapshots.
    now[0] = 5600.0
    assert series() == 2
    counters.on_snapshot(_snapshot({}, 5600.0, libvirt_up=False))
    assert series() == 0
    # Undefined: gone since the event, without a collection saying so.
    counters.record(event("undefined", 6000.0), tenancy)
    now[0] = 6599.0
    counters.on_snapshot(_snapshot({}, 6599.0, libvirt_up=False))
    assert series() == 2
    assert counters.count("u1", "undefined") == 1
    now[0] = 6600.0
    counters.on_snapshot(_snapshot({}, 6600.0, libvirt_up=False))
    assert series() == 0
    assert counters.domains() == 0


def test_counters_never_go_backwards_when_the_tenancy_changes() -> None:
    counters = EventCounters(TENANT_LABELS, retention=600)
    old = model.Tenancy(instance_uuid="u1", project_id="p1", flavor="small")
    new = model.Tenancy(instance_uuid="u1", project_id="p1", flavor="large")
    counters.record(DomainEvent("u1", "vm1", "reboot", "", 1.0), old)
    counters.record(DomainEvent("u1", "vm1", "reboot", "", 2.0), old)
    counters.record(DomainEvent("u1", "vm1", "reboot", "", 3.0), new)
    by_flavor = {labels[-1]: n for (labels, _, _), n in counters.rows().counts.items()}
    assert by_flavor == {"small": 2, "large": 1}
