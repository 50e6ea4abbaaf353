"""Self-metric of the disk counter refreshes between slow collections."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from enricher.exporters import families as fam
from enricher.libvirt.disk_counters import PATHS, DiskCounters

NAME = "enricher_disk_counter_refreshes"
HELP = next(doc for name, _t, doc in fam.SELF if name == NAME + "_total")


class DiskCountersCollector(Collector):
    """Reads the refresher's counts; never calls libvirt."""

    def __init__(self, counters: DiskCounters) -> None:
        self._counters = counters

    def describe(self) -> Iterator[Metric]:
        return iter(())

    def collect(self) -> Iterator[Metric]:
        counts = self._counters.counts()
        family = CounterMetricFamily(NAME, HELP, labels=["path"])
        for path in PATHS:
            family.add_metric([path], counts.get(path, 0))
        yield family
