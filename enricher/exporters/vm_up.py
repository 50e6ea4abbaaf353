"""vAdvisor's ``vm_up``: 1 while a domain runs, 0 for a stale period after, then gone.

A small tracker fed with every snapshot (``Sampler.on_snapshot``). A domain
that shuts off or disappears reports 0 from then on, for ``stale_period``
seconds, and is then forgotten. A snapshot taken while libvirt did not
answer changes nothing: every domain keeps its last value, so a libvirtd
restart does not drop or zero the whole host.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator, Sequence

from prometheus_client.core import Metric

from enricher.exporters import catalog, prometheus
from enricher.libvirt.stats import DomainSample
from enricher.sampler import Snapshot
from enricher.tenancy import model

# libvirt states in which a domain's vCPUs may run: running, blocked (idle).
UP_STATES = frozenset({1, 2})


@dataclasses.dataclass(frozen=True, slots=True)
class Entry:
    """What the tracker knows of one domain."""

    name: str
    uuid: str
    tenancy: model.Tenancy
    up: bool
    down_since: float | None  # when it was first seen not running (or gone)


class VmUpTracker:
    """uuid -> last state; ``rows()`` are the series of the current ``vm_up``."""

    def __init__(self, stale_period: float, clock: Callable[[], float] | None = None
                 ) -> None:
        self.stale_period = stale_period
        self._clock = clock
        self._entries: dict[str, Entry] = {}
        self._lock = threading.Lock()

    def on_snapshot(self, snap: Snapshot) -> None:
        if not snap.libvirt_up:
            return  # keep the last known values while libvirt is away
        now = self._clock() if self._clock is not None else snap.collected_at
        with self._lock:
            old = self._entries
            new: dict[str, Entry] = {}
            for sample in snap.samples:
                new[sample.uuid] = self._seen(sample, snap.tenancy_of(sample.uuid),
                                              old.get(sample.uuid), now)
            for uuid, entry in old.items():
                if uuid not in new:
                    since = entry.down_since if entry.down_since is not None else now
                    new[uuid] = dataclasses.replace(entry, up=False, down_since=since)
            self._entries = {u: e for u, e in new.items()
                             if e.down_since is None or now - e.down_since < self.stale_period}

    @staticmethod
    def _seen(sample: DomainSample, tenancy: model.Tenancy, last: Entry | None,
              now: float) -> Entry:
        up = sample.active and sample.state in UP_STATES
        since = None
        if not up:
            since = last.down_since if last is not None and last.down_since is not None \
                else now
        return Entry(sample.name, sample.uuid, tenancy, up, since)

    def rows(self) -> tuple[Entry, ...]:
        """The domains with a vm_up series, by name then UUID."""
        with self._lock:
            entries = list(self._entries.values())
        return tuple(sorted(entries, key=lambda e: (e.name, e.uuid)))

    def families(self, tenant_labels: Sequence[str]) -> Iterator[Metric]:
        """The ``vm_up`` family (rendered with each snapshot's per-VM part)."""
        spec = catalog.get("vm_up")
        filled = prometheus.family(spec, spec.label_names(tenant_labels))
        for entry in self.rows():
            values = [entry.name, entry.uuid]
            values += [entry.tenancy.label_value(f) for f in tenant_labels]
            filled.add_metric(values, 1 if entry.up else 0)
        yield filled
