"""CI smoke run of ``bench fleet-prom`` (3 nodes x 10 domains), so that it cannot rot.

Needs the prometheus Debian package; test-driver nodes only (no QEMU).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests import tools
from tests.perf import report

REPO_ROOT = Path(__file__).resolve().parents[2]
NODES, VMS = 3, 10


@pytest.mark.slow
def test_fleet_prom_smoke() -> None:
    tools.find("prometheus", "prometheus")
    result = subprocess.run(
        [sys.executable, "-m", "tests.perf.bench", "fleet-prom", "--nodes", str(NODES),
         "--vms", str(VMS), "--scrape-interval", "1", "--duration", "4", "--interval", "1"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=150, check=False)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    tables = report.parse_tables(result.stdout)
    rows = next(rows for title, rows in tables.items() if title.startswith("fleet-prom"))
    values = {row["quantity"]: row["value"] for row in rows}
    assert float(values["vms"]) == NODES * VMS
    # Every VM has at least its state and its openstack_info series.
    assert float(values["series_per_vm"]) >= 2
    assert float(values["head_series"]) >= float(values["enricher_series_per_scrape_round"])
    # 50 projects in the node files, 10 domains per node: 10 projects, state running.
    assert float(values["project_series"]) >= VMS
    assert float(values["ingest_samples_per_s"]) > 0
    assert float(values["prometheus_rss_mib_max"]) > 0
    groups = [k for k in values if k.startswith("rule_eval_ms_max_")]
    assert {"rule_eval_ms_max_enricher-project", "rule_eval_ms_max_enricher-vm",
            "rule_eval_ms_max_enricher-exporter"} <= set(groups), groups
    for key in groups:
        assert float(values[key]) >= 0
