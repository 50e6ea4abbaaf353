"""StatsD lines of a Snapshot: the catalog's per-VM families, named and tagged.

The values are the ones /metrics shows: the same collector functions fill
the same catalog families, which are then written one line per series, for
the families ``selection`` allows and [statsd] metrics names. A label that
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
from collections.abc import Iterator, Mapping, Sequence

from prometheus_client.core import Metric

from enricher.exporters import catalog, extra_metrics, prometheus
from enricher.exporters.statsd import escape, selection
from enricher.sampler import Snapshot

NONE, DOGSTATSD, INFLUXDB = "none", "dogstatsd", "influxdb"
DELTA, GAUGE_TOTALS = "delta", "gauge"
_VALUE_LABELS = frozenset({"state"})
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
    metrics: tuple[str, ...] = ()  # the families sent; empty: every one

    def label_fields(self) -> tuple[str, ...]:
        """The tenancy fields the families must carry for this layout."""
        if self.tag_format == NONE:
            return tuple(f for f in self.name_labels if f not in catalog.DOMAIN_LABELS)
        return self.tenant_labels


def sent_families(snapshot: Snapshot, fields: Sequence[str],
                  metrics: Sequence[str] = ()) -> Iterator[Metric]:
    """The families of ``snapshot`` that StatsD gets (those of ``metrics`` if any),
    labelled with ``fields``."""
    only = frozenset(metrics) if metrics else None
    for metric in itertools.chain(prometheus.domain_families(snapshot, fields, only),
                                  extra_metrics.extra_families(snapshot, fields)):
        name = _catalog_name(metric)
        if selection.sendable(catalog.get(name)) and (only is None or name in only):
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
        if layout.tag_format == NONE:
            self._base_keys = layout.name_labels
        else:
            self._base_keys = (*catalog.DOMAIN_LABELS, *layout.tenant_labels)

    def lines(self, snapshot: Snapshot) -> list[str]:
        """Every line of one send. A negative gauge is two lines in one item
        (``0|g`` then the value: a leading ``-`` alone would be a decrement)."""
        out: list[str] = []
        totals: dict[Key, float] = {}
        delta = self.layout.counters == DELTA
        bases: dict[str, str] = {}  # uuid -> the domain's escaped labels, once per send
        for metric in sent_families(snapshot, self.layout.label_fields(), self.layout.metrics):
            name = _catalog_name(metric)
            counter = metric.type == "counter"
            own = tuple(label for label in catalog.get(name).labels
                        if label not in _VALUE_LABELS)
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
                    kind = "c"
                else:
                    kind = "g"
                start, end = self._parts(name, labels, own, bases)
                line = "%s%s|%s%s" % (start, number(value), kind, end)
                if value < 0 and kind == "g":
                    line = "%s0|g%s\n%s" % (start, end, line)
                out.append(line)
        self._previous = totals
        return out

    def _parts(self, name: str, labels: Mapping[str, str], own: Sequence[str],
               bases: dict[str, str]) -> tuple[str, str]:
        """What comes before the value (up to the ``:``) and after the type."""
        base = ""
        if labels:  # one domain, one tenancy per snapshot: its part is built once
            uuid = labels["uuid"]
            base = bases.get(uuid)  # type: ignore[assignment]
            if base is None:
                base = bases[uuid] = self._base(tuple(labels.get(k, "")
                                                      for k in self._base_keys))
        tag_format = self.layout.tag_format
        if tag_format == NONE:
            path = [base, name] if base else [name]
            path += [escape.segment(labels[label]) for label in own]
            return "%s%s:" % (self._head, ".".join(path)), ""
        pairs = [base] if base else []
        if tag_format == DOGSTATSD:
            pairs += ["%s:%s" % (k, escape.tag(labels[k])) for k in own if labels[k]]
            return "%s%s:" % (self._head, name), "|#" + ",".join(pairs) if pairs else ""
        pairs += ["%s=%s" % (k, escape.tag(labels[k])) for k in own if labels[k]]
        tags = "," + ",".join(pairs) if pairs else ""
        return "%s%s%s:" % (self._head, name, tags), ""

    def _base(self, values: tuple[str, ...]) -> str:
        """A domain's part of its lines: path segments, or its non-empty tags."""
        if self.layout.tag_format == NONE:
            return ".".join(escape.segment(v) for v in values)
        sep = ":" if self.layout.tag_format == DOGSTATSD else "="
        return ",".join("%s%s%s" % (k, sep, escape.tag(v))
                        for k, v in zip(self._base_keys, values, strict=True) if v)
