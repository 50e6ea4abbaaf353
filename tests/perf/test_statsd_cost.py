"""``bench statsd`` smoke run, so it cannot rot: every row, every cell a number."""

from __future__ import annotations

import pytest

from tests.perf import bench, report


def test_bench_statsd_reports_every_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["statsd", "--domains", "5", "--sends", "2"]) == 0
    tables = report.parse_tables(capsys.readouterr().out)
    rows = next(rows for title, rows in tables.items() if title.startswith("one send of 5"))
    assert [r["output"] for r in rows] == [
        "statsd-none", "statsd-dogstatsd", "statsd-influxdb", "statsd-dogstatsd-all-families",
        "metrics-render-reference"]
    for row in rows:
        assert float(row["cpu_p50_ms"]) >= 0 and int(row["lines"]) > 0
    assert int(rows[0]["lines"]) == 5 * 22 + 1  # the default families of 5 domains
