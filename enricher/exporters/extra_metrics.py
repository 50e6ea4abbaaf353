"""Prometheus families of the extra statistics ([DEFAULT] extra_stats) of one Snapshot.

Per-VM families carry the same ``domain``, ``uuid`` and tenant labels as
every other per-VM series, then the selector's own labels. Nothing is
exported when ``extra_stats`` is empty.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from prometheus_client.core import Metric

from enricher.exporters import catalog
from enricher.exporters.prometheus import (
    base_labels,
    base_values,
        family,
    labelled_family,
    value_family,
)
from enricher.sampler import Snapshot


def extra_families(snapshot: Snapshot, tenant_labels: Sequence[str]) -> Iterator[Metric]:
    """The extra families of the snapshot's domains (in the order their points come),
    then the extra collection's own figures."""
    extra = snapshot.extra
    if extra is None:
        return
    base = base_labels(tenant_labels)
    families: dict[str, Metric] = {}
    for sample in snapshot.samples:
        points = extra.points.get(sample.uuid)
        if not points:
            continue
        values = base_values(sample, snapshot.tenancy_of(sample.uuid), tenant_labels)
        for point in points:
            filled = families.get(point.family)
            if filled is None:
                spec = catalog.get(point.family)
                filled = families[point.family] = family(spec, base + spec.labels)
            filled.add_metric(values + point.labels, point.value)
    yield from families.values()
    yield labelled_family("enricher_extra_calls_total", sorted(extra.calls.items()))
    yield value_family("enricher_extra_duration_seconds", extra.duration)
    yield value_family("enricher_extra_busy_domains", extra.busy)
