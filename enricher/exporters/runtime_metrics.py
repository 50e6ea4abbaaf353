"""Self-metrics of the process: background threads and HTTP connections, per scrape."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from enricher.exporters.web import ConnectionStats
from enricher.health import ThreadHealth

# (name, type, labels, help) for the docs' metrics reference.
FAMILIES = (
    ("enricher_thread_up", "gauge", "thread",
     "Whether a background thread (sampler, nova-fallback, event-dispatch) is "
     "running (1) or dead and waiting to be restarted (0)."),
    ("enricher_thread_restarts_total", "counter", "thread",
     "Times a background thread was restarted after it crashed."),
    ("enricher_http_connections", "gauge", "-",
     "Open HTTP connections when this scrape started."),
    ("enricher_http_connections_max", "gauge", "-",
     "Most HTTP connections held open at once ([prometheus] max_connections, "
     "lowered to fit the open-file limit)."),
    ("enricher_http_connections_closed_total", "counter", "reason",
     "HTTP connections the server closed early: evicted (idle, to make room at "
     "the cap), rejected (503, every connection busy), send_timeout (the client "
     "read too slowly), header_too_large (431, a header block over 64 KiB)."),
)
_HELP = {name: doc for name, _t, _l, doc in FAMILIES}


class RuntimeCollector(Collector):
    """Reads thread health and connection counters; never blocks."""

    def __init__(self, threads: ThreadHealth, connections: ConnectionStats) -> None:
        self._threads = threads
        self._connections = connections

    def describe(self) -> Iterator[Metric]:
        return iter(())

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("enricher_thread_up", _HELP["enricher_thread_up"],
                               labels=["thread"])
        restarts = CounterMetricFamily("enricher_thread_restarts",
                                       _HELP["enricher_thread_restarts_total"],
                                       labels=["thread"])
        for name, (alive, count) in self._threads.snapshot().items():
            up.add_metric([name], 1 if alive else 0)
            restarts.add_metric([name], count)
        yield up
        yield restarts
        stats = self._connections
        yield GaugeMetricFamily("enricher_http_connections",
                                _HELP["enricher_http_connections"], value=stats.open)
        yield GaugeMetricFamily("enricher_http_connections_max",
                                _HELP["enricher_http_connections_max"],
                                value=stats.max_connections)
        closed = CounterMetricFamily("enricher_http_connections_closed",
                                     _HELP["enricher_http_connections_closed_total"],
                                     labels=["reason"])
        for reason, count in (("evicted", stats.evicted), ("rejected", stats.rejected),
                              ("send_timeout", stats.send_timeouts),
                              ("header_too_large", stats.oversized)):
            closed.add_metric([reason], count)
        yield closed
