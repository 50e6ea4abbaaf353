"""The shipped alerting rules and per-project recording rules, through promtool.

``promtool check rules`` must be clean, ``promtool test rules`` must pass the
unit tests in tests/fixtures/promtool, and those tests must show every alert
firing and, at another time, not firing.
"""

from __future__ import annotations

import pathlib
import subprocess
from typing import Any

import pytest
import yaml

from tests import tools

ROOT = pathlib.Path(__file__).resolve().parents[2]
ALERTS = ROOT / "etc" / "enricher" / "alerting-rules.yml"
RECORDING = ROOT / "etc" / "enricher" / "recording-rules.yml"
UNIT_TESTS = ROOT / "tests" / "fixtures" / "promtool"
ALERT_TESTS = UNIT_TESTS / "alerting-rules-test.yml"
RECORDING_TESTS = UNIT_TESTS / "recording-rules-test.yml"
PROJECT_GROUP = "enricher-project"


@pytest.fixture
def promtool() -> str:
    return tools.find("promtool", "prometheus")


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def rules(path: pathlib.Path, kind: str) -> list[dict[str, Any]]:
    """Every rule of ``kind`` ("alert" or "record") in a rule file."""
    groups = yaml.safe_load(path.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if kind in rule]


def test_promtool_check_rules_is_clean(promtool: str) -> None:
    checked = _run(promtool, "check", "rules", str(ALERTS), str(RECORDING))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count("SUCCESS") == 2, checked.stdout
    # Warnings (duplicate rules, lint findings) go to stderr even on success.
    assert not checked.stderr.strip(), checked.stderr


@pytest.mark.parametrize("unit_tests", [ALERT_TESTS, RECORDING_TESTS], ids=lambda p: p.name)
def test_promtool_unit_tests_pass(promtool: str, unit_tests: pathlib.Path) -> None:
    result = _run(promtool, "test", "rules", str(unit_tests))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for case in yaml.safe_load(ALERT_TESTS.read_text())["tests"]:
        for check in case.get("alert_rule_test", []):
            (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    alerts = {rule["alert"] for rule in rules(ALERTS, "alert")}
    assert alerts, "no alerts in %s" % ALERTS
    assert alerts - firing == set(), "never shown firing"
    assert alerts - quiet == set(), "never shown not firing"
    assert firing | quiet <= alerts, "tests of alerts that do not exist"


def test_every_alert_says_what_and_how_bad() -> None:
    for rule in rules(ALERTS, "alert"):
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert {"summary", "description"} <= set(rule["annotations"]), rule["alert"]


def test_every_project_rule_is_unit_tested() -> None:
    groups = yaml.safe_load(RECORDING.read_text())["groups"]
    project = [rule["record"] for group in groups if group["name"] == PROJECT_GROUP
               for rule in group["rules"]]
    assert project
    tested = {check["expr"] for case in yaml.safe_load(RECORDING_TESTS.read_text())["tests"]
              for check in case["promql_expr_test"]}
    assert set(project) - tested == set()
    for name in project:
        assert name.startswith("project:"), name
