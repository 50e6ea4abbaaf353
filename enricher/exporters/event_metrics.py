"""Prometheus families of the domain events and of the event pipeline's health.

Rendered on every scrape: events change between collections, so they are
never cached with a snapshot.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from prometheus_client.core import Metric

from enricher.events.counters import Rows
from enricher.exporters import catalog
from enricher.exporters.prometheus import base_labels, family, value_family

EVENTS = "libvirt_domain_events_total"
LAST_EVENT = "libvirt_domain_last_event_timestamp_seconds"


def event_families(rows: Rows, stats: Mapping[str, float], tenant_labels: Sequence[str]
                   ) -> Iterator[Metric]:
    """The per-domain event families of ``rows`` (a copy of the event counters),
    then the pipeline's figures ``stats`` (by family name)."""
    base = base_labels(tenant_labels)
    events = family(catalog.get(EVENTS), base + catalog.get(EVENTS).labels)
    for (labels, event, detail), count in sorted(rows.counts.items()):
        events.add_metric([*labels, event, detail], count)
    last = family(catalog.get(LAST_EVENT), base + catalog.get(LAST_EVENT).labels)
    for (labels, event), when in sorted(rows.last.items()):
        last.add_metric([*labels, event], when)
    yield from (f for f in (events, last) if f.samples)
    for name, value in stats.items():
        yield value_family(name, value)
