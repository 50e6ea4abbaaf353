"""vm_up: 1 running, 0 for a stale period after a stop, kept while libvirt is down."""

from __future__ import annotations

from types import MappingProxyType

from enricher.exporters.vm_up import VmUpTracker
from enricher.libvirt.stats import DomainSample
from enricher.sampler import Snapshot
from enricher.tenancy import model

TENANCY = model.Tenancy(project_name="p", instance_uuid="u1")


def sample(uuid: str, state: int = 1) -> DomainSample:
    return DomainSample(uuid=uuid, name="dom-" + uuid, active=state != 5, state=state,
                        reason=0, scalars=MappingProxyType({}))


def snap(at: float, *samples: DomainSample, up: bool = True) -> Snapshot:
    return Snapshot(samples=samples if up else (),
                    tenancy=MappingProxyType({s.uuid: TENANCY for s in samples}),
                    libvirt_up=up, collected_at=at, duration=0.0)


def values(tracker: VmUpTracker) -> dict[str, int]:
    return {e.uuid: int(e.up) for e in tracker.rows()}


def test_shut_off_is_zero_for_the_stale_period_then_gone() -> None:
    tracker = VmUpTracker(stale_period=10)
    tracker.on_snapshot(snap(0, sample("a"), sample("b")))
    assert values(tracker) == {"a": 1, "b": 1}
    tracker.on_snapshot(snap(1, sample("a", state=5), sample("b")))
    assert values(tracker) == {"a": 0, "b": 1}
    tracker.on_snapshot(snap(10.9, sample("a", state=5), sample("b")))
    assert values(tracker) == {"a": 0, "b": 1}
    tracker.on_snapshot(snap(11, sample("a", state=5), sample("b")))
    assert values(tracker) == {"b": 1}


def test_disappeared_is_zero_then_gone_and_a_restart_is_one_again() -> None:
    tracker = VmUpTracker(stale_period=5)
    tracker.on_snapshot(snap(0, sample("a"), sample("b")))
    tracker.on_snapshot(snap(1, sample("b")))
    assert values(tracker) == {"a": 0, "b": 1}
    tracker.on_snapshot(snap(6, sample("b")))
    assert values(tracker) == {"b": 1}
    tracker.on_snapshot(snap(7, sample("a"), sample("b")))
    assert values(tracker) == {"a": 1, "b": 1}


def test_libvirt_down_keeps_the_last_values() -> None:
    tracker = VmUpTracker(stale_period=5)
    tracker.on_snapshot(snap(0, sample("a"), sample("b", state=3)))
    before = tracker.rows()
    for at in (1, 2, 100):  # a long libvirtd restart: no flapping, no expiry
        tracker.on_snapshot(snap(at, up=False))
        assert tracker.rows() == before
    tracker.on_snapshot(snap(101, sample("a"), sample("b")))
    assert values(tracker) == {"a": 1, "b": 1}


def test_paused_is_zero_and_keeps_its_tenancy_labels() -> None:
    tracker = VmUpTracker(stale_period=5)
    tracker.on_snapshot(snap(0, sample("a", state=3)))
    (family,) = tracker.families(("project_name",))
    (series,) = family.samples
    assert series.labels == {"domain": "dom-a", "uuid": "a", "project_name": "p"}
    assert series.value == 0
