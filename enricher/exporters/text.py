"""Prometheus text exposition (format 0.0.4), rendered fast for many series.

prometheus_client's ``generate_latest`` sorts, escapes and joins the labels of
every sample; with tenant labels on every per-VM series that is most of a
render's CPU. Here each distinct label set (a domain's labels recur in every
family that has the same label names) is written once per render and reused,
which gives the same text.
"""

from __future__ import annotations

from collections.abc import Iterable
from operator import itemgetter

from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.utils import floatToGoString


def _escape_value(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _escape_help(text: str) -> str:
    return text.replace("\\", r"\\").replace("\n", r"\n")


def render(source: CollectorRegistry | Collector | Iterable) -> bytes:
    """Exposition text of every family a registry or collector yields."""
    families = source.collect() if hasattr(source, "collect") else source
    labelsets: dict[tuple, str] = {}  # (sorted names, their values) -> 'a="x",b="y"'
    out: list[str] = []
    append = out.append
    for family in families:
        name = family.name
        mtype = family.type
        if mtype == "counter":
            name += "_total"
        elif mtype == "info":
            name += "_info"
            mtype = "gauge"
        elif mtype == "stateset":
            mtype = "gauge"
        elif mtype == "unknown":
            mtype = "untyped"
        append("# HELP %s %s\n# TYPE %s %s\n"
               % (name, _escape_help(family.documentation), name, mtype))
        names: tuple[str, ...] = ()
        name_set: frozenset[str] = frozenset()
        values_of = itemgetter(0)
        for sample in family.samples:
            labels = sample.labels
            value = floatToGoString(sample.value)
            if not labels:
                append("%s %s\n" % (sample.name, value))
                continue
            if labels.keys() != name_set:
                names = tuple(sorted(labels))
                name_set = frozenset(names)
                values_of = itemgetter(*names)
            key = (names, values_of(labels))
            text = labelsets.get(key)
            if text is None:
                text = labelsets[key] = ",".join(
                    '%s="%s"' % (n, _escape_value(labels[n])) for n in names)
            append("%s{%s} %s\n" % (sample.name, text, value))
    joined = "".join(out)
    try:
        return joined.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (Nova's JSON can carry "\ud800") has no UTF-8 form:
        # it becomes "?" rather than failing the whole exposition.
        return joined.encode("utf-8", "replace")
