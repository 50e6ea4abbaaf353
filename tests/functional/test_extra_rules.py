"""The shipped recording rules: valid for promtool, and they compute collectd's percentages."""

from __future__ import annotations

import pathlib
import subprocess

import pytest

from tests import tools

ROOT = pathlib.Path(__file__).resolve().parents[2]
RULES = ROOT / "etc" / "enricher" / "recording-rules.yml"

VM = 'domain="vm1",uuid="u1",project_name="webteam"'

# Two vCPUs; the domain burns 1.5 host CPUs, of which 0.25 s/s user and 1.25 s/s
# system; vCPU 0 is busy all the time, vCPU 1 half the time and waits 0.1 s/s.
INPUT = """\
rule_files:
  - {rules}
evaluation_interval: 15s
tests:
  - interval: 15s
    input_series:
      - series: 'libvirt_domain_cpu_time_seconds_total{{{vm}}}'
        values: '0+22.5x8'
      - series: 'libvirt_domain_cpu_user_seconds_total{{{vm}}}'
        values: '0+3.75x8'
      - series: 'libvirt_domain_cpu_system_seconds_total{{{vm}}}'
        values: '0+18.75x8'
      - series: 'libvirt_domain_info_vcpus{{{vm}}}'
        values: '2x8'
      - series: 'libvirt_domain_vcpu_time_seconds_total{{{vm},vcpu="0"}}'
        values: '0+15x8'
      - series: 'libvirt_domain_vcpu_time_seconds_total{{{vm},vcpu="1"}}'
        values: '0+7.5x8'
      - series: 'libvirt_domain_vcpu_wait_seconds_total{{{vm},vcpu="0"}}'
        values: '0+0x8'
      - series: 'libvirt_domain_vcpu_wait_seconds_total{{{vm},vcpu="1"}}'
        values: '0+1.5x8'
      - series: 'libvirt_domain_memory_available_bytes{{{vm}}}'
        values: '1000x8'
      - series: 'libvirt_domain_memory_unused_bytes{{{vm}}}'
        values: '250x8'
    promql_expr_test:
"""
# Each recording rule at 2 minutes: {rule: [(extra labels, percent), ...]}.
EXPECTED = {
    "domain:libvirt_domain_cpu_utilization:percent": [("", 75)],
    "domain:libvirt_domain_cpu_host_cpu:percent": [("", 150)],
    "domain:libvirt_domain_cpu_user:percent": [("", 25)],
    "domain:libvirt_domain_cpu_system:percent": [("", 125)],
    "domain_vcpu:libvirt_domain_vcpu_time:percent": [(',vcpu="0"', 100),
                                                     (',vcpu="1"', 50)],
    "domain:libvirt_domain_vcpu_wait:percent": [("", 5)],
    "domain:libvirt_domain_memory_used:percent": [("", 75)],
}


def unit_test() -> str:
    """A promtool rule unit test of every rule in EXPECTED."""
    out = [INPUT.format(rules=RULES, vm=VM)]
    for rule, samples in EXPECTED.items():
        out.append("      - expr: %s\n        eval_time: 2m\n        exp_samples:\n" % rule)
        out += ["          - labels: '%s{%s%s}'\n            value: %s\n"
                % (rule, VM, extra, value) for extra, value in samples]
    return "".join(out)


@pytest.fixture
def promtool() -> str:
    return tools.find("promtool", "prometheus")


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def test_promtool_accepts_the_rules(promtool: str) -> None:
    checked = _run(promtool, "check", "rules", str(RULES))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout


def test_the_rules_compute_collectd_style_percentages(promtool: str,
                                                      tmp_path: pathlib.Path) -> None:
    tests = tmp_path / "rules_test.yml"
    tests.write_text(unit_test())
    result = _run(promtool, "test", "rules", str(tests))
    assert result.returncode == 0, result.stdout + result.stderr
