"""Per-domain event counters that only go up, kept a while after a domain is gone."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING

from enricher.libvirt.events import DomainEvent
from enricher.tenancy import model

if TYPE_CHECKING:
    from enricher.sampler import Snapshot

# A domain's labels: domain name, uuid, then the configured tenant labels.
Labels = tuple[str, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class Rows:
    """A consistent copy of the counters, for one scrape."""

    counts: dict[tuple[Labels, str, str], int]  # (labels, event, detail) -> count
    last: dict[tuple[Labels, str], float]  # (labels, event) -> Unix time


class EventCounters:
    """``libvirt_domain_events_total`` and last-event times, by domain.

    A series is keyed by the labels the domain had when the event happened,
    so a tenancy change starts new series and never lowers an old one.
    The series of a domain are dropped ``retention`` seconds after it is
    gone: undefined, or missing from a collection made after its last event.
    The sampler's snapshots drive that (``on_snapshot``), not the scrapes.
    """

    def __init__(self, tenant_labels: Sequence[str], retention: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.tenant_labels = tuple(tenant_labels)
        self.retention = retention
        self._clock = clock
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, Labels, str, str]] = Counter()
        self._last: dict[tuple[str, Labels, str], float] = {}
        self._last_event_at: dict[str, float] = {}
        self._gone_since: dict[str, float] = {}

    def labels(self, event: DomainEvent, tenancy: model.Tenancy) -> Labels:
        return (event.name, event.uuid) + tuple(
            tenancy.label_value(f) for f in self.tenant_labels)

    def record(self, event: DomainEvent, tenancy: model.Tenancy) -> None:
        labels = self.labels(event, tenancy)
        uuid = event.uuid
        with self._lock:
            self._counts[(uuid, labels, event.event, event.detail)] += 1
            key = (uuid, labels, event.event)
            self._last[key] = max(event.timestamp, self._last.get(key, 0.0))
            self._last_event_at[uuid] = max(event.timestamp,
                                            self._last_event_at.get(uuid, 0.0))
            if event.event == "undefined":
                self._gone_since[uuid] = event.timestamp
            else:
                self._gone_since.pop(uuid, None)

    def count(self, uuid: str, event: str, detail: str | None = None) -> int:
        """Sum of one domain's counters for ``event`` (and ``detail``)."""
        with self._lock:
            return sum(n for (u, _, e, d), n in self._counts.items()
                       if u == uuid and e == event and detail in (None, d))

    def on_snapshot(self, snapshot: Snapshot) -> None:
        """Note the domains a new snapshot lists, then expire the ones gone long enough."""
        if snapshot.libvirt_up:  # libvirt down says nothing about the domains
            present = set(snapshot.tenancy).union(s.uuid for s in snapshot.samples)
            self.observe(present, snapshot.collected_at)
        self.expire(self._clock())

    def observe(self, present: Collection[str], collected_at: float) -> None:
        """Note which domains a collection made at ``collected_at`` listed."""
        with self._lock:
            for uuid, last in self._last_event_at.items():
                gone = self._gone_since.get(uuid)
                if uuid in present:
                    if gone is not None and collected_at > gone:
                        del self._gone_since[uuid]
                elif gone is None and collected_at > last:
                    self._gone_since[uuid] = collected_at

    def expire(self, now: float) -> list[str]:
        """Forget domains gone for ``retention`` seconds; return their UUIDs."""
        with self._lock:
            expired = [u for u, since in self._gone_since.items()
                       if now - since >= self.retention]
            if not expired:
                return []
            dead = set(expired)
            for key in [k for k in self._counts if k[0] in dead]:
                del self._counts[key]
            for key in [k for k in self._last if k[0] in dead]:
                del self._last[key]
            for uuid in expired:
                del self._gone_since[uuid]
                del self._last_event_at[uuid]
            return expired

    def rows(self) -> Rows:
        with self._lock:
            return Rows({(labels, e, d): n for (_, labels, e, d), n in self._counts.items()},
                        {(labels, e): t for (_, labels, e), t in self._last.items()})

    def domains(self) -> int:
        with self._lock:
            return len(self._last_event_at)
