"""The enricher, scraped by a real Prometheus, labels real guests with their tenancy."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests import golden
from tests.e2e.harness import procs, series
from tests.e2e.harness.domains import E2EDomain
from tests.e2e.harness.enricher_proc import EnricherProcess
from tests.e2e.harness.prometheus import PrometheusServer, promtool_check_metrics

TIMEOUT = 60.0
VMS = pytest.mark.parametrize("vm_key", ["a", "b"], ids=["nova-1.1", "nova-1.0"])

Result = list[dict[str, Any]]


def _our_series(prometheus: PrometheusServer, vm: E2EDomain, metric: str) -> Result:
    """``metric``'s series with ``vm``'s project, once Prometheus has them: all ``vm``'s
    and carrying its tenancy."""
    result = prometheus.wait_for(f'{metric}{{project_id="{vm.project_id}"}}', timeout=TIMEOUT)
    assert [s for s in result if s["metric"].get("uuid") == vm.uuid] == result, result
    for found in result:
        series.assert_tenant_labels(found["metric"], vm, metric)
    return result


def test_libvirt_up(prometheus: PrometheusServer) -> None:
    """Prometheus sees the enricher connected to libvirtd."""
    result = prometheus.wait_for("libvirt_up == 1", timeout=TIMEOUT)
    assert len(result) == 1, result


@VMS
def test_cpu_time_labelled_with_tenancy(
    prometheus: PrometheusServer, e2e_domains: dict[str, E2EDomain], vm_key: str
) -> None:
    """One CPU-time series per guest, with its Nova tenancy and a positive value."""
    result = _our_series(prometheus, e2e_domains[vm_key], "libvirt_domain_cpu_time_seconds_total")
    assert len(result) == 1, f"want exactly one series: {result}"
    assert float(result[0]["value"][1]) > 0, result


@VMS
@pytest.mark.parametrize(
    "metric",
    ["libvirt_domain_block_read_bytes_total", "libvirt_domain_net_receive_bytes_total",
     "libvirt_domain_net_transmit_packets_total"],
)
def test_device_series_labelled_with_tenancy(
    prometheus: PrometheusServer, e2e_domains: dict[str, E2EDomain], vm_key: str, metric: str
) -> None:
    """The guest's vda and tap counters carry its tenancy."""
    vm = e2e_domains[vm_key]
    label, device = ("device", "vda") if "_block_" in metric else ("interface", vm.tap)
    result = _our_series(prometheus, vm, metric)
    assert [s["metric"].get(label) for s in result] == [device], result


def _scrape_with_vms(enricher: EnricherProcess, vms: dict[str, E2EDomain]) -> str:
    """Scrape /metrics until both guests show up (the first collection may race boot)."""
    last = [""]

    def _probe() -> str | None:
        last[0] = enricher.scrape()
        return last[0] if all(vm.uuid in last[0] for vm in vms.values()) else None

    return procs.wait_until(
        _probe, TIMEOUT, what="both guests in /metrics", details=lambda: last[0][-2000:]
    )


def test_promtool_accepts_exposition(
    enricher: EnricherProcess, e2e_domains: dict[str, E2EDomain]
) -> None:
    """promtool finds nothing to complain about in /metrics."""
    text = _scrape_with_vms(enricher, e2e_domains)
    checked = promtool_check_metrics(text)
    output = (checked.stdout + checked.stderr).strip()
    assert checked.returncode == 0, f"promtool exit {checked.returncode}: {output}"
    assert output == "", f"promtool warnings:\n{output}"


def test_every_domain_sample_has_project_id(
    enricher: EnricherProcess, e2e_domains: dict[str, E2EDomain]
) -> None:
    """Every per-VM sample of our guests names its project."""
    text = _scrape_with_vms(enricher, e2e_domains)
    ours = {vm.uuid: vm for vm in e2e_domains.values()}
    seen: dict[str, int] = dict.fromkeys(ours, 0)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            uuid = sample.labels.get("uuid")
            if not sample.name.startswith("libvirt_domain_") or uuid not in ours:
                continue
            seen[uuid] += 1
            assert sample.labels.get("project_id"), f"no project_id on {sample}"
            assert sample.labels["project_id"] == ours[uuid].project_id, sample
    assert all(seen.values()), f"libvirt_domain_* samples per guest uuid: {seen}"


def test_exposition_structure_matches_golden(
    enricher: EnricherProcess, e2e_domains: dict[str, E2EDomain]
) -> None:
    """Families, types, HELP and label names (in order) of our guests' series as before.

    Values, names and ids change from run to run; what dashboards select on
    must not. Regenerate with ENRICHER_REGENERATE_GOLDEN=1 (see tests/golden.py).
    """
    ours = {vm.uuid for vm in e2e_domains.values()}
    text = _scrape_with_vms(enricher, e2e_domains)
    golden.check("e2e-guests.structure",
                 golden.structure(text, lambda labels: labels.get("uuid") in ours))
