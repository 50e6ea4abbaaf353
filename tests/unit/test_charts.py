"""tests/perf/charts.py: the performance page's charts from benchmark data files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.perf import charts

DATA = Path(__file__).resolve().parents[2] / "doc" / "source" / "_data"


def test_committed_data_files_draw_every_chart_the_same_each_time(tmp_path: Path) -> None:
    first = charts.draw(sorted(DATA.glob("*.json")), tmp_path / "a")
    assert sorted(p.name for p in first) == [
        "host-cpu.svg", "rss-domains.svg", "scrape-latency.svg"]
    second = charts.draw(sorted(DATA.glob("*.json")), tmp_path / "b")
    for a, b in zip(first, second, strict=True):
        assert a.read_text().lstrip().startswith("<?xml")
        assert a.read_bytes() == b.read_bytes(), a.name


def test_a_file_of_another_shape_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"windows": []}))
    with pytest.raises(ValueError, match="neither bench real"):
        charts.draw([bad], tmp_path / "out")
