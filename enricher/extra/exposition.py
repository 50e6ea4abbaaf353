"""Prometheus families of the extra statistics, built fresh from one Snapshot.

Per-VM families carry the same ``domain``, ``uuid`` and tenant labels as
every other per-VM series (the DomainCollector builds them), then the
selector's own labels. Nothing is exported when ``extra_stats`` is empty.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from enricher.extra import catalog
from enricher.extra.base import COUNTER, ExtraFamily

if TYPE_CHECKING:
    from enricher.extra.runner import ExtraResult


class Snapshot(Protocol):
    """What the collector reads of the sampler's Snapshot (extra sits below the sampler)."""

    @property
    def samples(self) -> Sequence[Any]: ...

    @property
    def extra(self) -> ExtraResult | None: ...

    def tenancy_of(self, uuid: str) -> Any: ...


# The exporter's own view of the extra collection: (name, type, help).
SELF = (
    ("enricher_extra_calls_total", COUNTER,
     "Per-domain libvirt calls of the extra statistics by selector and outcome: ok, "
     "timeout, busy (an earlier call for the domain is still stuck), skipped (after a "
     "timeout), unsupported, no_agent, denied, domain_gone, inactive (stopped or paused "
     "since the bulk call) or error."),
    ("enricher_extra_duration_seconds", "gauge",
     "Wall time of the last extra statistics collection, after the bulk call, in seconds."),
    ("enricher_extra_busy_domains", "gauge",
     "Domains whose extra statistics are skipped because a call into them is still stuck."),
)


def _family(spec: ExtraFamily, labels: Sequence[str]) -> Metric:
    cls = CounterMetricFamily if spec.type == COUNTER else GaugeMetricFamily
    return cls(spec.base_name, spec.help, labels=list(labels))


def _help(name: str) -> str:
    return next(doc for entry, _type, doc in SELF if entry == name)


class ExtraCollector(Collector):
    """Yields the extra families of the snapshot's domains, tenant-labelled."""

    def __init__(self, snapshot: Callable[[], Snapshot], base_labels: Sequence[str],
                 base_values: Callable[[Any, Any], tuple[str, ...]]) -> None:
        self._snapshot = snapshot
        self._base_labels = tuple(base_labels)
        self._base_values = base_values

    def describe(self) -> Iterator[Metric]:
        return iter(())

    def collect(self) -> Iterator[Metric]:
        snap = self._snapshot()
        extra = snap.extra
        if extra is None:
            return
        families: dict[str, Metric] = {}
        for sample in snap.samples:
            points = extra.points.get(sample.uuid)
            if not points:
                continue
            base = self._base_values(sample, snap.tenancy_of(sample.uuid))
            for point in points:
                family = families.get(point.family)
                if family is None:
                    spec = catalog.BY_NAME[point.family]
                    family = families[point.family] = _family(
                        spec, self._base_labels + spec.labels)
                family.add_metric(base + point.labels, point.value)
        yield from families.values()
        yield from self._self(extra)

    def _self(self, extra: Any) -> Iterator[Metric]:
        calls = CounterMetricFamily("enricher_extra_calls",
                                    _help("enricher_extra_calls_total"),
                                    labels=["selector", "outcome"])
        for (selector, outcome), count in sorted(extra.calls.items()):
            calls.add_metric([selector, outcome], count)
        yield calls
        yield GaugeMetricFamily("enricher_extra_duration_seconds",
                                _help("enricher_extra_duration_seconds"),
                                value=extra.duration)
        yield GaugeMetricFamily("enricher_extra_busy_domains",
                                _help("enricher_extra_busy_domains"), value=extra.busy)
