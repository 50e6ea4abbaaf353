"""The fast text renderer writes exactly what prometheus_client would."""

from __future__ import annotations

from types import MappingProxyType

from prometheus_client import generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
)
from prometheus_client.registry import CollectorRegistry

from enricher.exporters import extra_metrics, prometheus, text
from enricher.libvirt.stats import Device, DomainSample
from enricher.sampler import Snapshot
from enricher.tenancy import model


class _Fixed:
    def __init__(self, families):
        self._families = families

    def collect(self):
        return iter(self._families)


def _odd_families():
    gauge = GaugeMetricFamily("g_bytes", 'help with \\ and\nnewline "q"', labels=["a", "b"])
    gauge.add_metric(['x"y', "back\\slash\nnl ünï"], 1.5)
    gauge.add_metric(["", " "], float("nan"))
    gauge.add_metric(["big", "small"], 1e22)
    gauge.add_metric(["neg", "inf"], float("-inf"))
    gauge.add_metric(["int", "x"], 12345678901234)
    counter = CounterMetricFamily("c", "a counter", labels=["l"])
    counter.add_metric(["v"], 3)
    info = InfoMetricFamily("i", "an info", value={"k": "v"})
    return [gauge, counter, info, GaugeMetricFamily("empty", "no samples")]


def test_same_text_as_prometheus_client_for_odd_values() -> None:
    registry = CollectorRegistry()
    registry.register(_Fixed(_odd_families()))
    assert text.render(registry) == generate_latest(registry)


def test_same_text_for_a_full_domain_snapshot() -> None:
    tenancy = model.Tenancy(instance_uuid="u1", project_id="p", project_name='we"ird\n',
                            user_id="uid", user_name="n", flavor="m1", source="metadata")
    sample = DomainSample(
        uuid="u1", name="instance-1", active=True, state=1, reason=1,
        scalars=MappingProxyType({"cpu.time": 123456789, "balloon.current": 65536,
                                  "vcpu.current": 1, "perf.cmt": 3, "perf.cycles": 9}),
        vcpus=(Device("0", MappingProxyType({"time": 5, "wait": 1, "state": 1})),),
        blocks=(Device("vda", MappingProxyType({"rd.bytes": 512, "capacity": 1 << 24})),),
        nets=(Device("tap0", MappingProxyType({"rx.bytes": 7, "tx.drop": 0})),))
    snap = Snapshot(samples=(sample,), tenancy=MappingProxyType({"u1": tenancy}),
                    libvirt_up=True, collected_at=1.0, duration=0.1)
    labels = model.DEFAULT_TENANT_LABELS
    families = [*prometheus.domain_families(snap, labels),
                *extra_metrics.extra_families(snap, labels),
                *prometheus.self_families(snap, {("libvirt", "x"): 2}, 0.0, lambda: 1.5)]
    registry = CollectorRegistry()
    registry.register(_Fixed(families))
    rendered = text.render(families)
    assert rendered == generate_latest(registry)
    assert b'libvirt_domain_cpu_time_seconds_total{domain="instance-1"' in rendered
    assert b'project_name="we\\"ird\\n"' in rendered
