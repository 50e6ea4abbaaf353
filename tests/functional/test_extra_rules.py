"""The shipped recording rules: valid for promtool, and they compute collectd's percentages."""

from __future__ import annotations

import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
RULES = ROOT / "etc" / "enricher" / "recording-rules.yml"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"

pytestmark = pytest.mark.skipif(not pathlib.Path(PROMTOOL).exists(),
                                reason="promtool is not installed (apt install prometheus)")

VM = 'domain="vm1",uuid="u1",project_name="webteam"'

# Two vCPUs; the domain burns 1.5 host CPUs, of which 0.25 s/s user and 1.25 s/s
# system; vCPU 0 is busy all the time, vCPU 1 half the time and waits 0.1 s/s.
UNIT_TEST = """\
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
      - expr: domain:libvirt_domain_cpu_utilization:percent
        eval_time: 2m
        exp_samples:
          - labels: 'domain:libvirt_domain_cpu_utilization:percent{{{vm}}}'
            value: 75
      - expr: domain:libvirt_domain_cpu_host_cpu:percent
        eval_time: 2m
        exp_samples:
          - labels: 'domain:libvirt_domain_cpu_host_cpu:percent{{{vm}}}'
            value: 150
      - expr: domain:libvirt_domain_cpu_user:percent
        eval_time: 2m
        exp_samples:
          - labels: 'domain:libvirt_domain_cpu_user:percent{{{vm}}}'
            value: 25
      - expr: domain:libvirt_domain_cpu_system:percent
        eval_time: 2m
        exp_samples:
          - labels: 'domain:libvirt_domain_cpu_system:percent{{{vm}}}'
            value: 125
      - expr: domain_vcpu:libvirt_domain_vcpu_time:percent
        eval_time: 2m
        exp_samples:
          - labels: 'domain_vcpu:libvirt_domain_vcpu_time:percent{{{vm},vcpu="0"}}'
            value: 100
          - labels: 'domain_vcpu:libvirt_domain_vcpu_time:percent{{{vm},vcpu="1"}}'
            value: 50
      - expr: domain:libvirt_domain_vcpu_wait:percent
        eval_time: 2m
        exp_samples:
          - labels: 'domain:libvirt_domain_vcpu_wait:percent{{{vm}}}'
            value: 5
      - expr: domain:libvirt_domain_memory_used:percent
        eval_time: 2m
        exp_samples:
          - labels: 'domain:libvirt_domain_memory_used:percent{{{vm}}}'
            value: 75
"""


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=60,
                          check=False)


def test_promtool_accepts_the_rules() -> None:
    checked = _promtool("check", "rules", str(RULES))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout


def test_the_rules_compute_collectd_style_percentages(tmp_path: pathlib.Path) -> None:
    tests = tmp_path / "rules_test.yml"
    tests.write_text(UNIT_TEST.format(rules=RULES, vm=VM))
    result = _promtool("test", "rules", str(tests))
    assert result.returncode == 0, result.stdout + result.stderr
