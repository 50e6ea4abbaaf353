"""Prometheus collector for the event families and the event pipeline's health."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from enricher.events.counters import EventCounters
from enricher.exporters import families as fam
from enricher.sampler import Snapshot

EVENTS = "libvirt_domain_events_total"
LAST_EVENT = "libvirt_domain_last_event_timestamp_seconds"


def _spec(name: str) -> tuple[str, str]:
    """(type, help) of a family from the table the docs are built from."""
    for entry in fam.SPECIAL + fam.SELF:
        if entry[0] == name:
            return entry[1], entry[-1]
    raise KeyError(name)


def _family(name: str, value: float) -> Metric:
    typ, doc = _spec(name)
    if typ == fam.COUNTER:
        return CounterMetricFamily(name.removesuffix("_total"), doc, value=value)
    return GaugeMetricFamily(name, doc, value=value)


class EventCollector(Collector):
    """Yields the per-domain event families and the event self-metrics.

    Registered on the per-scrape registry: events change between
    collections, so they are never cached with a snapshot. Each scrape also
    tells the counters which domains the latest collection listed, so the
    series of deleted domains expire after the retention.
    """

    def __init__(self, counters: EventCounters, snapshot: Callable[[], Snapshot],
                 stats: Callable[[], Mapping[str, float]],
                 clock: Callable[[], float] = time.time) -> None:
        self._counters = counters
        self._snapshot = snapshot
        self._stats = stats
        self._clock = clock
        self._base = ["domain", "uuid", *counters.tenant_labels]

    def describe(self) -> Iterator[Metric]:
        return iter(())

    def collect(self) -> Iterator[Metric]:
        snap = self._snapshot()
        if snap.libvirt_up:
            present = set(snap.tenancy).union(s.uuid for s in snap.samples)
            self._counters.observe(present, snap.collected_at)
        self._counters.expire(self._clock())
        rows = self._counters.rows()
        events = CounterMetricFamily(EVENTS.removesuffix("_total"), _spec(EVENTS)[1],
                                     labels=[*self._base, "event", "detail"])
        for (labels, event, detail), count in sorted(rows.counts.items()):
            events.add_metric([*labels, event, detail], count)
        last = GaugeMetricFamily(LAST_EVENT, _spec(LAST_EVENT)[1],
                                 labels=[*self._base, "event"])
        for (labels, event), when in sorted(rows.last.items()):
            last.add_metric([*labels, event], when)
        yield from (f for f in (events, last) if f.samples)
        for name, value in self._stats().items():
            yield _family(name, value)
