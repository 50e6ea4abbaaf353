"""[DEFAULT] extra_stats against the libvirt test driver, end to end through /metrics."""

from __future__ import annotations

import threading
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from enricher.exporters import catalog as metrics
from enricher.exporters import endpoints
from enricher.exporters.endpoints import HealthInputs
from enricher.exporters.exposition import MetricsApp
from enricher.exporters.web import Limits, WebServer
from enricher.extra import catalog
from enricher.extra.runner import ExtraRunner
from enricher.extra.vcpupin import VcpuPin
from enricher.health import ErrorCounts
from enricher.libvirt.connection import Connection
from enricher.libvirt.stats import StatsReader
from enricher.sampler import Sampler
from enricher.tenancy.resolver import Resolver
from tests import fixtures
from tests.functional.conftest import parse, scrape_text

EXPECTED = fixtures.expected()
IN_NODE = {e["domain_uuid"]: e for e in EXPECTED.values() if e.get("in_test_node")}
ACTIVE = {u for u, e in IN_NODE.items() if e["test_node_state"] in ("running", "paused")}
RUNNING = {u for u, e in IN_NODE.items() if e["test_node_state"] == "running"}
WEBTEAM = "e22c05ef-5d01-420e-8189-a451e4f10d3e"  # instance-0000000a, project webteam
TENANT_LABELS = ("instance_uuid", "project_id", "project_name", "user_id", "user_name",
                 "flavor")
EXTRA = [f for f in metrics.of(metrics.EXTRA) if f.per_vm]
EXTRA_NAMES = {f.name for f in metrics.of(metrics.EXTRA)}
# What the test driver cannot do: these selectors must report nothing, quietly.
UNSUPPORTED = {"cpu_util", "job_stats_background", "job_stats_completed", "memory",
               "dirtyrate"}


def _names(text: str) -> set[str]:
    return {s.name for f in text_string_to_metric_families(text) for s in f.samples}


def _calls(samples: dict[str, list]) -> dict[tuple[str, str], float]:
    return {(s.labels["selector"], s.labels["outcome"]): s.value
            for s in samples.get("enricher_extra_calls_total", [])}


def test_the_default_output_has_nothing_extra(service_factory, node_file) -> None:
    svc = service_factory(fixtures.test_node_uri(node_file))
    assert svc.conf.extra_stats == []
    names = _names(scrape_text(svc))
    assert "libvirt_domain_info_state" in names
    assert not names & EXTRA_NAMES


def test_every_selector_on_the_test_driver_degrades_to_not_reported(
        service_factory, node_file) -> None:
    svc = service_factory(fixtures.test_node_uri(node_file), extra_stats=list(catalog.NAMES))
    scrape_text(svc)
    samples = parse(scrape_text(svc))  # a second sample, for cpu_util
    calls = _calls(samples)
    for selector in UNSUPPORTED - {"cpu_util"}:
        assert calls[(selector, "unsupported")] > 0, selector
        assert not calls[(selector, "ok")], selector
    assert calls[("fs_info", "denied")] > 0  # read-only connection
    assert not [s for s in samples.get("enricher_errors_total", [])
                if s.labels["source"] == "extra"]
    exported = {f.name for f in EXTRA if f.name in samples}
    for selector in UNSUPPORTED:
        assert not [f for f in EXTRA
                    if selector in f.selectors and f.name in exported], selector
    assert {"libvirt_domain_state_reason_info", "libvirt_domain_block_error",
            "libvirt_domain_vcpu_affinity", "libvirt_domain_pcpu_time_seconds_total",
            "libvirt_domain_perf_event_enabled"} <= exported


def test_extra_series_carry_the_tenant_labels(service_factory, node_file) -> None:
    svc = service_factory(fixtures.test_node_uri(node_file),
                          extra_stats=["domain_state", "disk_err", "vcpupin"])
    samples = parse(scrape_text(svc))
    states = {s.labels["uuid"]: s.labels for s in samples["libvirt_domain_info_state"]}
    for name in ("libvirt_domain_state_reason_info", "libvirt_domain_block_error",
                 "libvirt_domain_vcpu_affinity"):
        assert samples[name], name
        for series in samples[name]:
            labels = series.labels
            assert {k: labels[k] for k in ("domain", *TENANT_LABELS)} == {
                k: states[labels["uuid"]][k] for k in ("domain", *TENANT_LABELS)}
    webteam = [s for s in samples["libvirt_domain_block_error"]
               if s.labels["uuid"] == WEBTEAM]
    assert [(s.labels["project_name"], s.labels["device"], s.labels["error"], s.value)
            for s in webteam] == [("webteam", "vda", "unspec", 1.0)]
    reasons = {s.labels["uuid"]: (s.labels["state"], s.labels["severity"])
               for s in samples["libvirt_domain_state_reason_info"]}
    assert reasons["25be8770-88af-453e-9bcb-02a43412d624"] == ("paused", "warning")
    assert reasons["8809a0fb-5e6a-482b-b9f4-91b9e444b46a"] == ("shutoff", "okay")
    assert set(reasons) == set(IN_NODE)
    assert {s.labels["uuid"] for s in samples["libvirt_domain_vcpu_affinity"]} == ACTIVE


def test_fs_info_on_a_read_write_connection(service_factory, node_file) -> None:
    svc = service_factory(fixtures.test_node_uri(node_file), extra_stats=["fs_info"],
                          libvirt__read_only=False)
    samples = parse(scrape_text(svc))
    mounts = {(s.labels["uuid"], s.labels["mountpoint"], s.labels["disks"])
              for s in samples["libvirt_domain_filesystem_info"]}
    assert (WEBTEAM, "/boot", "vda") in mounts
    assert {u for u, _, _ in mounts} == RUNNING  # not the paused one: its agent is frozen
    assert _calls(samples)[("fs_info", "ok")] == len(RUNNING)


@pytest.mark.parametrize(("interval", "needle"), [(0, "collected from libvirt when scraped"),
                                                  (30, "background sampler")])
def test_the_help_text_says_which_mode(service_factory, node_file, interval, needle) -> None:
    svc = service_factory(fixtures.test_node_uri(node_file), interval=interval)
    text = scrape_text(svc)
    help_line = next(line for line in text.splitlines()
                     if line.startswith("# HELP enricher_collection_interval_seconds"))
    assert needle in help_line
    assert parse(text)["enricher_collection_interval_seconds"][0].value == interval


def test_with_an_interval_a_scrape_never_collects(service_factory, node_file) -> None:
    svc = service_factory(fixtures.test_node_uri(node_file), interval=3600,
                          extra_stats=["vcpupin"])
    first = parse(scrape_text(svc))
    second = parse(scrape_text(svc))
    stamp = "enricher_collection_timestamp_seconds"
    assert first[stamp][0].value == second[stamp][0].value > 0
    assert _calls(first) == _calls(second)  # no extra calls on the scrape path either
    assert _calls(first)[("vcpupin", "ok")] == len(ACTIVE)


class HangingVcpuPin(VcpuPin):
    """vcpupin whose call into one domain blocks until the test lets it go."""

    def __init__(self, stuck_uuid: str, gate: threading.Event) -> None:
        self._stuck = stuck_uuid
        self._gate = gate

    def call(self, dom: Any, sample: Any) -> list:
        if sample.uuid == self._stuck:
            self._gate.wait()
        return super().call(dom, sample)


@pytest.fixture
def hanging_enricher(node_file) -> Iterator[tuple[str, threading.Event, float]]:
    """An enricher (interval 0) whose vcpupin call hangs for WEBTEAM until set."""
    timeout = 0.5
    gate = threading.Event()
    errors = ErrorCounts()
    runner = ExtraRunner([HangingVcpuPin(WEBTEAM, gate)], timeout=timeout, workers=2,
                         errors=errors)
    connection = Connection(fixtures.test_node_uri(node_file))
    sampler = Sampler(connection, StatsReader(["state"]), Resolver(errors), errors,
                      extra=runner)
    server = WebServer("127.0.0.1", 0, Limits())
    endpoints.add_routes(server, MetricsApp(sampler, errors, TENANT_LABELS),
                         HealthInputs(sampler, errors.threads, interval=0))
    server.start()
    try:
        yield "http://127.0.0.1:%d/metrics" % server.port, gate, timeout
    finally:
        gate.set()
        server.stop()
        sampler.stop()
        connection.close()


def _timed_scrape(url: str) -> tuple[float, dict[str, list]]:
    started = time.monotonic()
    with urllib.request.urlopen(url, timeout=30) as resp:
        text = resp.read().decode()
    return time.monotonic() - started, parse(text)


def _pinned(samples: dict[str, list]) -> set[str]:
    return {s.labels["uuid"] for s in samples.get("libvirt_domain_vcpu_affinity", [])}


def test_a_hung_call_delays_the_scrape_by_the_timeout_at_most(hanging_enricher) -> None:
    url, gate, timeout = hanging_enricher
    first_latency, first = _timed_scrape(url)
    assert first_latency < timeout + 2.0, first_latency  # not the hang: it never ends
    assert _pinned(first) == ACTIVE - {WEBTEAM}
    assert _calls(first)[("vcpupin", "timeout")] == 1
    assert first["enricher_extra_busy_domains"][0].value == 1
    second_latency, second = _timed_scrape(url)
    assert second_latency < timeout, second_latency  # the busy domain is not waited for
    assert _calls(second)[("vcpupin", "busy")] == 1
    assert _pinned(second) == ACTIVE - {WEBTEAM}
    gate.set()
    deadline = time.monotonic() + 10
    while WEBTEAM not in _pinned(_timed_scrape(url)[1]):
        assert time.monotonic() < deadline, "the domain did not come back"
        time.sleep(0.05)
