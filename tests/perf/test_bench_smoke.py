"""CI smoke run of the benchmark, so that it cannot rot: every table cell is a number.

Three real guests and a few seconds per window (scrapes every 0.5 s), then a
small test-driver run with the Keystone+Nova simulator. Needs root, libvirtd
and QEMU (tools/e2e-host-setup.sh) and prometheus-libvirt-exporter.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.harness import libvirtd
from tests.perf import goexporter, report

REPO_ROOT = Path(__file__).resolve().parents[2]
TEXT_CELLS = {"exporter", "group", "mode", "role"}

_missing = libvirtd.missing_prerequisite()
pytestmark = [pytest.mark.e2e, pytest.mark.skipif(_missing is not None, reason=str(_missing))]


def bench(*argv: str, timeout: float = 50.0) -> str:
    """Run ``python -m tests.perf.bench ARGV``; fail with its output unless it exits 0."""
    result = subprocess.run([sys.executable, "-m", "tests.perf.bench", *argv],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout,
                            check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"bench {' '.join(argv)} exited {result.returncode}:\n" \
        + output[-4000:]
    return result.stdout


def is_number(cell: str) -> bool:
    try:
        return math.isfinite(float(cell))
    except ValueError:
        return False


def assert_numeric(rows: list[dict[str, str]], allowed: dict[str, str] | None = None) -> None:
    """Every cell is a number, a range "a..b", a ratio "n/N", or an allowed text."""
    assert rows, "empty table"
    for row in rows:
        for column, cell in row.items():
            if column in TEXT_CELLS:
                continue
            if allowed and allowed.get(column) == cell:
                continue
            parts = cell.split("..") if ".." in cell else cell.split("/")
            assert all(is_number(p) for p in parts), f"{column}={cell!r} in {row}"


def table(tables: dict[str, list[dict[str, str]]], prefix: str) -> list[dict[str, str]]:
    matches = [rows for title, rows in tables.items() if title.startswith(prefix)]
    assert matches, f"no table titled {prefix!r} in {sorted(tables)}"
    return matches[0]


def test_real_smoke() -> None:
    goexporter.ensure_installed()
    out = bench("real", "--vms", "3", "--window", "2", "--rounds", "1",
                "--scrape-interval", "0.5", "--interval", "0.5", "--settle", "0.2",
                "--group-calls", "1", "--group-reps", "1", "--ab-host-cpu")
    tables = report.parse_tables(out)
    main = table(tables, "medians over")
    assert [r["exporter"] for r in main] == [
        "enricherx1", "enricher-libvirt-cpux1", "gox1",
        "enricherx2", "enricher-libvirt-cpux2", "gox2"]
    assert_numeric([r for r in main if r["exporter"].startswith("enricher")])
    assert_numeric([r for r in main if r["exporter"].startswith("go")],
                   {"collect_ms": "n/a"})
    for row in main:
        assert float(row["domains"]) >= 3 and float(row["series"]) > 3 * 10, row
        assert float(row["p50_ms"]) > 0 and float(row["body_KiB"]) > 0, row
    ratios = table(tables, "ratios")
    assert_numeric(ratios)
    assert [(r["scrapers"], r["exporter"]) for r in ratios] == [
        ("1", "enricher"), ("1", "enricher-libvirt-cpu"),
        ("2", "enricher"), ("2", "enricher-libvirt-cpu")]
    assert_numeric(table(tables, "idle baseline"), {"idle_%core/VM": "n/a"})
    groups = table(tables, "bulk stats call")
    assert_numeric(groups)
    assert {"state", "block", "enricher-default", "blockStatsFlags_per_domain",
            "one-call_blockStatsFlags_per_domain", "cgroup_CPU_time_read"
            } <= {r["group"] for r in groups}
    by_group = {r["group"]: r for r in groups}
    # The ctypes probe returns the fields libvirt-python's binding does.
    assert (by_group["one-call_blockStatsFlags_per_domain"]["keys/VM"]
            == by_group["blockStatsFlags_per_domain"]["keys/VM"])


def test_testdriver_smoke() -> None:
    out = bench("testdriver", "--domains", "100", "--without-metadata", "20",
                "--scrapes", "8", "--interval", "0.5")
    rows = table(report.parse_tables(out), "test driver")
    assert [r["mode"] for r in rows] == ["interval=0.5", "interval=0"]
    assert_numeric(rows[:1])
    assert_numeric(rows[1:], {"cached_p50_ms": "-"})  # every scrape collects afresh
    for row in rows:
        assert row["domains"] == "100/100" and row["unresolved"] == "0", row
        assert float(row["nova_first"]) > 0 and float(row["nova_steady/ivl"]) == 0, row
    assert "OK: all 100 domains" in out
