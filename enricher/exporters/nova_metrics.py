"""Prometheus families of the Nova API fallback's own figures, fresh on every scrape."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping

from prometheus_client.core import Metric, SummaryMetricFamily

from enricher.exporters import catalog
from enricher.exporters.prometheus import labelled_family, value_family
from enricher.tenancy.fallback import NovaFallback

CACHE_RESULTS = ("hit", "negative_hit", "miss")


@dataclasses.dataclass(frozen=True, slots=True)
class NovaFigures:
    """A consistent-enough copy of what the fallback counts, for one scrape."""

    up: bool | None  # None until a look-up was needed
    requests: Mapping[tuple[str, str], int]  # (endpoint, status) -> count
    cache: Mapping[str, int]  # cache outcome -> count
    lookups: Mapping[str, int]  # result -> count
    lookup_seconds_sum: float

    @classmethod
    def read(cls, fallback: NovaFallback) -> NovaFigures:
        """The figures of ``fallback`` now; never calls Nova."""
        counters = fallback.source.counters
        stats = fallback.stats
        return cls(fallback.up, counters.requests(),
                   {result: getattr(stats, result) for result in CACHE_RESULTS},
                   counters.lookups(), counters.lookup_seconds_sum)


def nova_families(figures: NovaFigures) -> Iterator[Metric]:
    """The fallback's families from one copy of its figures."""
    if figures.up is not None:
        yield value_family("enricher_nova_api_up", 1 if figures.up else 0)
    yield labelled_family("enricher_nova_requests_total", sorted(figures.requests.items()))
    yield labelled_family("enricher_nova_cache_total",
                          [((result,), figures.cache[result]) for result in CACHE_RESULTS])
    duration = catalog.get("enricher_nova_lookup_duration_seconds")
    yield SummaryMetricFamily(duration.name, duration.help,
                              count_value=sum(figures.lookups.values()),
                              sum_value=figures.lookup_seconds_sum)
    yield labelled_family("enricher_nova_lookups_total",
                          [((result,), n) for result, n in sorted(figures.lookups.items())])
