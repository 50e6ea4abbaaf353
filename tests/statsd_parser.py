"""A strict StatsD line parser for the tests: what a careful server would accept.

Stricter than any real server on purpose: a name is dotted segments of the
escaped alphabet, a value a plain decimal number, a type ``g`` or ``c``, and
tags (DogStatsD ``|#k:v,...`` or InfluxDB-style ``name,k=v:...``) pairs of a
label name and an escaped value. Anything else raises ``ValueError``.
"""

from __future__ import annotations

import dataclasses
import re

from enricher.exporters.statsd import escape

_SEGMENT = r"[A-Za-z0-9_%-]+"
_NAME = re.compile(r"%s(\.%s)*\Z" % (_SEGMENT, _SEGMENT))
_KEY = re.compile(r"[a-z_][a-z0-9_]*\Z")
_VALUE = re.compile(r"[A-Za-z0-9_./%-]+\Z")
_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?\Z")
_ESCAPE = re.compile(r"%(?![0-9A-F]{2})")


@dataclasses.dataclass(frozen=True)
class Line:
    """One parsed line: the name's segments (escaped), value, type, tags (unescaped)."""

    segments: tuple[str, ...]
    value: float
    type: str
    tags: dict[str, str]

    @property
    def name(self) -> str:
        return ".".join(self.segments)


def _checked(pattern: re.Pattern[str], text: str, what: str, line: str) -> str:
    if not pattern.match(text) or _ESCAPE.search(text):
        raise ValueError("bad %s %r in line %r" % (what, text, line))
    return text


def _pairs(text: str, sep: str, line: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    for pair in text.split(","):
        key, found, value = pair.partition(sep)
        if not found:
            raise ValueError("tag without %r in line %r" % (sep, line))
        _checked(_KEY, key, "tag key", line)
        if key in tags:
            raise ValueError("tag %s twice in line %r" % (key, line))
        tags[key] = escape.unescape_tag(_checked(_VALUE, value, "tag value", line))
    return tags


def parse_line(line: str, tag_format: str) -> Line:
    """One line of ``tag_format`` (none, dogstatsd, influxdb)."""
    tags: dict[str, str] = {}
    if tag_format == "dogstatsd":
        body, hashed, tag_text = line.partition("|#")
        if hashed:
            tags = _pairs(tag_text, ":", line)
        line_body = body
    else:
        line_body = line
    head, colon, rest = line_body.partition(":")
    if not colon or ":" in rest:
        raise ValueError("not one ':' in line %r" % line)
    if tag_format == "influxdb" and "," in head:
        head, _, tag_text = head.partition(",")
        tags = _pairs(tag_text, "=", line)
    value, bar, type_ = rest.partition("|")
    if not bar or type_ not in ("g", "c"):
        raise ValueError("bad type in line %r" % line)
    _checked(_NUMBER, value, "value", line)
    name = _checked(_NAME, head, "name", line)
    return Line(tuple(name.split(".")), float(value), type_, tags)


def parse_datagram(data: bytes, tag_format: str) -> list[Line]:
    """Every line of one datagram (ASCII, newline-separated, no empty line)."""
    text = data.decode("ascii")
    return [parse_line(line, tag_format) for line in text.split("\n")]
