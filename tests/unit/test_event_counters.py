"""Event counters: retention of a gone domain's series, counts across tenancy changes."""

from __future__ import annotations

from collections.abc import Mapping

from enricher.events.collector import EventCollector
from enricher.events.counters import EventCounters
from enricher.libvirt.events import DomainEvent
from enricher.sampler import Snapshot
from enricher.tenancy import model

TENANT_LABELS = ("instance_uuid", "project_id", "project_name", "user_id",
                 "user_name", "flavor")


def _snap(tenancy: Mapping[str, model.Tenancy], libvirt_up: bool, collected_at: float
          ) -> Snapshot:
    """A collection that listed the domains of ``tenancy``."""
    return Snapshot(samples=(), tenancy=tenancy, libvirt_up=libvirt_up,
                    collected_at=collected_at, duration=0.0)


def test_events_of_a_gone_domain_expire_after_the_retention() -> None:
    counters = EventCounters(TENANT_LABELS, retention=600)
    now = [1000.0]
    snap = [_snap({"other": model.NO_TENANCY}, True, 0.0)]
    collector = EventCollector(counters, lambda: snap[0], dict, lambda: now[0])
    tenancy = model.Tenancy(instance_uuid="u1", project_id="p1")

    def event(name: str, at: float) -> DomainEvent:
        return DomainEvent("u1", "vm1", name, "", at)

    def series() -> int:
        return sum(len(f.samples) for f in collector.collect()
                   if f.name.startswith("libvirt_domain_"))

    counters.record(event("started", 990.0), tenancy)
    # A collection older than the event does not make the domain gone.
    snap[0] = _snap({"other": model.NO_TENANCY}, True, 980.0)
    now[0] = 5000.0
    assert series() == 2
    # Listed by a newer collection: present; then missing from one: gone from then on.
    snap[0] = _snap({"u1": tenancy}, True, 1000.0)
    assert series() == 2
    snap[0] = _snap({"other": model.NO_TENANCY}, True, 5000.0)
    now[0] = 5599.0
    assert series() == 2
    # libvirt down says nothing about the domain.
    snap[0] = _snap({}, False, 5599.0)
    assert series() == 2
    now[0] = 5600.0
    assert series() == 0
    # Undefined: gone since the event, whatever collections say.
    counters.record(event("undefined", 6000.0), tenancy)
    now[0] = 6599.0
    assert series() == 2
    assert counters.count("u1", "undefined") == 1
    now[0] = 6600.0
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
