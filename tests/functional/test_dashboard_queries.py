"""Every dashboard query is valid PromQL once Grafana's variables are substituted.

promtool parses each one as the expression of a recording rule (``promtool
check rules``); the end-to-end test (tests/e2e/test_dashboards_e2e.py) runs
them against a real Prometheus.
"""

from __future__ import annotations

import pathlib
import subprocess

import yaml

from enricher.exporters import grafana
from enricher.exporters.grafana import model
from tests import tools

# What Grafana would put in: a multi-value variable as a regex, one instance.
SUBSTITUTIONS = {"project": "webteam|ops", "instance": "5eed0000-0000-4000-8000-000000000000",
                 "node": ".*", "__rate_interval": "1m", "__range": "1h",
                 "__interval": "15s"}


def dashboard_expressions() -> list[tuple[str, str]]:
    """(where, PromQL) of every panel query and variable selector, substituted."""
    out = []
    for name, data in grafana.rendered().items():
        for title, ref, expr in model.panel_queries(data):
            out.append(("%s: %s (%s)" % (name, title, ref),
                        model.substitute(expr, SUBSTITUTIONS)))
        for var, query in model.variable_queries(data):
            selector, _label = model.label_values_query(query)
            out.append(("%s: $%s" % (name, var), model.substitute(selector, SUBSTITUTIONS)))
    return out


def test_every_dashboard_query_parses(tmp_path: pathlib.Path) -> None:
    promtool = tools.find("promtool", "prometheus")
    queries = dashboard_expressions()
    assert len(queries) > 50
    rules = {"groups": [{"name": "dashboards", "rules": [
        {"record": "dashboard:query_%d:check" % i, "expr": expr}
        for i, (_where, expr) in enumerate(queries)]}]}
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump(rules))
    result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True,
                            text=True, timeout=60, check=False)
    # promtool names the rule: map it back to the panel.
    report = result.stdout + result.stderr
    for i, (where, _expr) in enumerate(queries):
        report = report.replace("dashboard:query_%d:check" % i, where)
    assert result.returncode == 0, report
