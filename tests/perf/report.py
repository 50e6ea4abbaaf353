"""Statistics and plain-text tables for the benchmark's output."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence

MISSING = "-"


def median(values: Iterable[float | None]) -> float | None:
    data = [v for v in values if v is not None and not math.isnan(v)]
    return statistics.median(data) if data else None


def percentile(values: Iterable[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100), nearest-rank on the sorted values."""
    data = sorted(values)
    if not data:
        return None
    rank = max(1, math.ceil(q / 100 * len(data)))
    return data[rank - 1]


def spread(values: Iterable[float | None]) -> tuple[float, float] | None:
    data = [v for v in values if v is not None]
    return (min(data), max(data)) if data else None


def fmt(value: float | int | str | None, digits: int = 1) -> str:
    """A number for a table cell; None is MISSING."""
    if value is None:
        return MISSING
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], title: str = "") -> str:
    """A fixed-width table: a title line, a header, a rule, then the rows."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    lines = [title] if title else []
    lines.append("  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True)))
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def parse_tables(text: str) -> dict[str, list[dict[str, str]]]:
    """Read back the tables ``table`` printed: title -> rows as {header: cell}."""
    lines = text.splitlines()
    out: dict[str, list[dict[str, str]]] = {}
    for i in range(1, len(lines) - 1):
        rule = lines[i + 1].split()
        if not rule or not all(set(cell) == {"-"} for cell in rule):
            continue
        headers = lines[i].split()
        if len(headers) != len(rule):
            continue
        rows = []
        for line in lines[i + 2:]:
            cells = line.split()
            if len(cells) != len(headers) or line.startswith("#"):
                break  # a blank line, another table, or a "# ..." note ends it
            rows.append(dict(zip(headers, cells, strict=True)))
        out[lines[i - 1].strip()] = rows
    return out
