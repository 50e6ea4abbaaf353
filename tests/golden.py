"""Golden files: an exposition compared byte for byte with one kept in the repository.

In tests/fixtures/golden/: ``demo-node*.prom`` (tests/functional/test_golden.py,
the built-in demo node), ``e2e-guests.prom`` (tests/unit/test_golden_replay.py,
the e2e guests' bulk stats recorded in ``e2e-guests-stats.json`` by
``python -m tests.e2e.record_stats``) and ``e2e-guests.structure``
(tests/e2e/test_prometheus_scrape.py: names, types, HELP and label names of
live guests' series).

``ENRICHER_REGENERATE_GOLDEN=1 pytest …`` rewrites the golden files from the
current code instead of comparing (and skips, so that nothing passes
unchecked); review the diff and commit it. Do that only when an exposition
change is intended: dashboards read these bytes.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Collection, Iterable

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests import fixtures

REGENERATE = "ENRICHER_REGENERATE_GOLDEN"
MASK = "<masked>"
_VALUE = re.compile(r" (?:[-+]?(?:[0-9.]+(?:e[-+]?[0-9]+)?|Inf)|NaN)$")


def _families(text: str) -> list[list[str]]:
    """The exposition's lines, one list per family (a family starts at ``# HELP``)."""
    blocks: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith("# HELP ") or not blocks:
            blocks.append([])
        blocks[-1].append(line)
    return blocks


def canonical(text: str, masked: Collection[str] = ()) -> str:
    """The exposition with its series sorted within each family, ``masked`` values hidden.

    Only the order of a family's series is normalised: libvirt lists domains
    in hash-table order, which changes from one connection to the next. Every
    line stays byte for byte as served, except that the value of a series
    named in ``masked`` (time-varying self-metrics) becomes ``<masked>``.
    """
    out: list[str] = []
    for block in _families(text):
        head = [line for line in block if line.startswith("#")]
        series = []
        for line in block[len(head):]:
            name = re.split(r"[{ ]", line, maxsplit=1)[0]
            if name in masked:
                line = _VALUE.sub(" " + MASK, line)
            series.append(line)
        out += head + sorted(series)
    return "".join(line + "\n" for line in out)


def structure(text: str, keep: Callable[[dict[str, str]], bool] = lambda _: True) -> str:
    """Family names, types and HELP, and each series' label names in order; no values.

    Only series whose labels ``keep`` accepts count; a family none of whose
    series are kept is left out, unless it has no per-domain series at all
    (the self-metrics), which are always listed.
    """
    out: list[str] = []
    for family in text_string_to_metric_families(text):
        kept = [s for s in family.samples if keep(s.labels)]
        per_domain = any("uuid" in s.labels for s in family.samples)
        if per_domain and not kept:
            continue
        out.append("%s %s %s" % (family.name, family.type, family.documentation))
        out += sorted({"  %s {%s}" % (s.name, ",".join(s.labels)) for s in kept
                       if "uuid" in s.labels})
    return "".join(line + "\n" for line in out)


def check(name: str, text: str) -> None:
    """Fail with a diff unless ``text`` equals the golden file ``name`` (or rewrite it)."""
    path = fixtures.GOLDEN / name
    if os.environ.get(REGENERATE) == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        pytest.skip("%s=1: rewrote %s; review and commit it" % (REGENERATE, path))
    expected = path.read_text()
    if text != expected:
        diff = difflib.unified_diff(expected.splitlines(True), text.splitlines(True),
                                    str(path), "served now")
        pytest.fail("exposition differs from %s (if intended, regenerate with %s=1):\n%s"
                    % (path, REGENERATE, "".join(_clip(diff))), pytrace=False)


def _clip(lines: Iterable[str], most: int = 80) -> Iterable[str]:
    for count, line in enumerate(lines):
        if count == most:
            yield "… (diff clipped)\n"
            return
        yield line
