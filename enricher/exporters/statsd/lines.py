"""StatsD lines of a Snapshot: the catalog's per-VM families, named and tagged.

The values are the ones /metrics shows: the same collector functions fill
the same catalog families, which are then written one line per series.
Sent: ``libvirt_up`` and every per-VM gauge and counter of the core and
extra statistics, except info series (``*_info``, always 1). A label that
only names the value (``state`` of ``libvirt_domain_info_state``) is left out.

Line layouts (``p`` the prefix, ``x`` the escaped values, see ``escape``):

* ``none``: ``p.<name_labels...>.<family>[.<own labels...>]:<value>|<type>``
* ``dogstatsd``: ``p.<family>:<value>|<type>|#domain:x,uuid:x,<tenant>:x,<own>:x``
* ``influxdb``: ``p.<family>,domain=x,uuid=x,<tenant>=x,<own>=x:<value>|<type>``
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence

from prometheus_client.core import Metric

from enricher.exporters import catalog, extra_metrics, prometheus
from enricher.exporters.statsd import escape
from enricher.sampler import Snapshot

NONE, DOGSTATSD, INFLUXDB = "none", "dogstatsd", "influxdb"
DELTA, GAUGE_TOTALS = "delta", "gauge"
_VALUE_LABELS = frozenset({"state"})
_HOST_FAMILIES = ("libvirt_up",)
DELTA_DIGITS = 9  # counters come from nanoseconds at best: round float noise away

Key = tuple[str, tuple[str, ...]]  # (family, label values): one series


@dataclasses.dataclass(frozen=True, slots=True)
class Layout:
    """How lines are written (from [statsd] and [prometheus] tenant_labels)."""

    tag_format: str = NONE
    prefix: str = "enricher"
    name_labels: tuple[str, ...] = ("project_name", "uuid")  # tag_format none
    tenant_labels: tuple[str, ...] = ()  # tags: after domain and uuid
    counters: str = DELTA

    def label_fields(self) -> tuple[str, ...]:
        """The tenancy fields the families must carry for this layout."""
        if self.tag_format == NONE:
            return tuple(f for f in self.name_labels if f not in catalog.DOMAIN_LABELS)
        return self.tenant_labels


def sent_families(snapshot: Snapshot, fields: Sequence[str]) -> Iterator[Metric]:
    """The families of ``snapshot`` that StatsD gets, labelled with ``fields``."""
    for metric in itertools.chain(prometheus.domain_families(snapshot, fields),
                                  extra_metrics.extra_families(snapshot, fields)):
        spec = catalog.get(_catalog_name(metric))
        if spec.name in _HOST_FAMILIES or (spec.per_vm and not spec.name.endswith("_info")):
            yield metric


def _catalog_name(metric: Metric) -> str:
    return metric.name + "_total" if metric.type == "counter" else metric.name


def number(value: float) -> str:
    """A value as StatsD servers parse it: integers without a fraction."""
    if float(value).is_integer() and abs(value) < 2 ** 63:
        return "%d" % value
    return repr(float(value))


class Formatter:
    """Writes lines for one layout; keeps the counter totals of the previous send."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self._head = layout.prefix + "." if layout.prefix else ""
        self._previous: dict[Key, float] = {}

    def lines(self, snapshot: Snapshot) -> list[str]:
        """Every line of one send. A negative gauge is two lines in one item
        (``0|g`` then the value: a leading ``-`` alone would be a decrement)."""
        out: list[str] = []
        totals: dict[Key, float] = {}
        delta = self.layout.counters == DELTA
        fields = self.layout.label_fields()
        for metric in sent_families(snapshot, fields):
            name = _catalog_name(metric)
            counter = metric.type == "counter"
            spec = catalog.get(name)
            own = tuple(label for label in spec.labels if label not in _VALUE_LABELS)
            for sample in metric.samples:
                value = float(sample.value)
                if not math.isfinite(value):
                    continue
                labels = sample.labels
                if counter and delta:
                    key = (name, tuple(labels.values()))
                    totals[key] = value
                    before = self._previous.get(key)
                    if before is None:
                        continue  # the baseline
                    value = round(value - before, DELTA_DIGITS) if value >= before else value
                    out.append(self._line(name, labels, own, value, "c"))
                elif value < 0:
                    zero = self._line(name, labels, own, 0, "g")
                    out.append(zero + "\n" + self._line(name, labels, own, value, "g"))
                else:
                    out.append(self._line(name, labels, own, value, "g"))
        self._previous = totals
        return out

    def _line(self, name: str, labels: Mapping[str, str], own: Sequence[str],
              value: float, kind: str) -> str:
        layout = self.layout
        if layout.tag_format == NONE:
            path = ([escape.segment(labels.get(f, "")) for f in layout.name_labels]
                    if labels else [])
            path.append(name)
            path += [escape.segment(labels[label]) for label in own]
            return "%s%s:%s|%s" % (self._head, ".".join(path), number(value), kind)
        tags = _tags(labels, own, layout)
        if layout.tag_format == DOGSTATSD:
            pairs = ",".join("%s:%s" % pair for pair in tags)
            return "%s%s:%s|%s%s" % (self._head, name, number(value), kind,
                                     "|#" + pairs if pairs else "")
        pairs = "".join(",%s=%s" % pair for pair in tags)
        return "%s%s%s:%s|%s" % (self._head, name, pairs, number(value), kind)


def _tags(labels: Mapping[str, str], own: Iterable[str], layout: Layout
          ) -> list[tuple[str, str]]:
    """(key, escaped value) of every non-empty label a tagged line carries."""
    keys = itertools.chain(catalog.DOMAIN_LABELS, layout.tenant_labels, own)
    return [(key, escape.tag(labels[key])) for key in keys if labels.get(key)]
