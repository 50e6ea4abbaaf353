"""Prometheus text exposition (format 0.0.4), rendered fast for many series.

prometheus_client's ``generate_latest`` validates and escapes every label name
and value of every sample; with tenant labels on every per-VM series that is
most of a scrape's CPU. Here label names are checked once per family and each
distinct label value is escaped once per render, which gives the same text.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString


def _escape_value(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _escape_help(text: str) -> str:
    return text.replace("\\", r"\\").replace("\n", r"\n")


def render(source: CollectorRegistry | Collector | Iterable) -> bytes:
    """Exposition text of every family a registry or collector yields."""
    families = source.collect() if hasattr(source, "collect") else source
    escaped: dict[str, str] = {}
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
        for sample in family.samples:
            append(_line(sample, escaped))
    return "".join(out).encode("utf-8")


def _line(sample: Sample, escaped: dict[str, str]) -> str:
    if sample.labels:
        parts = []
        for key, value in sorted(sample.labels.items()):
            text = escaped.get(value)
            if text is None:
                text = escaped[value] = _escape_value(value)
            parts.append('%s="%s"' % (key, text))
        return "%s{%s} %s\n" % (sample.name, ",".join(parts), floatToGoString(sample.value))
    return "%s %s\n" % (sample.name, floatToGoString(sample.value))
