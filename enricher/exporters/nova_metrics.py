"""Self-metrics of the Nova API fallback, fresh on every scrape."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector

from enricher.tenancy.fallback import NovaFallback

# (name, type, labels, help) for the docs' metrics reference.
FAMILIES = (
    ("enricher_nova_api_up", "gauge", "-",
     "Whether the last Nova API look-up succeeded (1) or not (0); absent until "
     "a look-up was needed."),
    ("enricher_nova_requests_total", "counter", "endpoint, status",
     "HTTP requests to Nova and Keystone by endpoint and status (or timeout, "
     "connection_error)."),
    ("enricher_nova_cache_total", "counter", "result",
     "Tenancy cache outcomes for domains whose metadata is incomplete: hit, "
     "negative_hit (Nova does not know the domain), miss (a look-up is queued)."),
    ("enricher_nova_lookup_duration_seconds", "summary", "-",
     "Duration of host-wide Nova look-ups, in seconds."),
    ("enricher_nova_lookups_total", "counter", "result",
     "Host-wide Nova look-ups by result (ok, error)."),
)
_HELP = {name: doc for name, _t, _l, doc in FAMILIES}


class NovaCollector(Collector):
    """Reads the fallback's counters; never calls Nova."""

    def __init__(self, fallback: NovaFallback) -> None:
        self._fallback = fallback

    def describe(self) -> Iterator[Metric]:
        return iter(())

    def collect(self) -> Iterator[Metric]:
        fallback = self._fallback
        if fallback.up is not None:
            yield GaugeMetricFamily("enricher_nova_api_up", _HELP["enricher_nova_api_up"],
                                    value=1 if fallback.up else 0)
        counters = fallback.source.counters
        requests = CounterMetricFamily("enricher_nova_requests",
                                       _HELP["enricher_nova_requests_total"],
                                       labels=["endpoint", "status"])
        for (endpoint, status), count in sorted(counters.requests().items()):
            requests.add_metric([endpoint, status], count)
        yield requests
        cache = CounterMetricFamily("enricher_nova_cache", _HELP["enricher_nova_cache_total"],
                                    labels=["result"])
        stats = fallback.stats
        for result in ("hit", "negative_hit", "miss"):
            cache.add_metric([result], getattr(stats, result))
        yield cache
        lookups = counters.lookups()
        yield SummaryMetricFamily(
            "enricher_nova_lookup_duration_seconds",
            _HELP["enricher_nova_lookup_duration_seconds"],
            count_value=sum(lookups.values()), sum_value=counters.lookup_seconds_sum)
        by_result = CounterMetricFamily("enricher_nova_lookups",
                                        _HELP["enricher_nova_lookups_total"],
                                        labels=["result"])
        for result, count in sorted(lookups.items()):
            by_result.add_metric([result], count)
        yield by_result
