"""Prometheus exposition: a custom collector over the latest Snapshot."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from enricher.exporters import families as fam
from enricher.extra.exposition import ExtraCollector
from enricher.health import ErrorCounts
from enricher.libvirt.stats import DomainSample
from enricher.sampler import Snapshot
from enricher.tenancy import model

LOG = logging.getLogger(__name__)

INFO_FIELDS = (
    "instance_uuid", "instance_name", "project_id", "project_name", "user_id",
    "user_name", "flavor", "flavor_id", "flavor_vcpus", "flavor_ram_mb",
    "flavor_disk_gb", "image_id", "root_type", "root_id", "package_version",
)


def _family(spec: fam.Family, labels: Sequence[str]) -> Metric:
    cls = CounterMetricFamily if spec.type == fam.COUNTER else GaugeMetricFamily
    return cls(spec.base_name, spec.help, labels=list(labels))


def _help(name: str) -> str:
    for entry in fam.SPECIAL + fam.SELF:
        if entry[0] == name:
            return entry[-1]
    raise KeyError(name)


def interval_help(interval: float) -> str:
    """HELP of enricher_collection_interval_seconds: says how samples are collected."""
    if interval > 0:
        return ("Seconds between collections by the background sampler ([DEFAULT] "
                "interval): scrapes are served from the latest snapshot and never wait "
                "on libvirt.")
    return ("0: samples are collected from libvirt when scraped ([DEFAULT] interval = 0); "
            "concurrent scrapes share one collection.")


def _ports_labels(tenancy: model.Tenancy) -> tuple[str, str]:
    ports = ",".join(p.uuid for p in tenancy.ports)
    ips = ",".join(ip.address for p in tenancy.ports for ip in p.ips)
    return ports, ips


class DomainCollector(Collector):
    """Yields every per-VM family, tenant-labelled, from one Snapshot."""

    def __init__(self, snapshot: Callable[[], Snapshot], tenant_labels: Sequence[str]
                 ) -> None:
        self._snapshot = snapshot
        self.tenant_labels = tuple(tenant_labels)
        self.base_labels = ("domain", "uuid") + self.tenant_labels

    def describe(self) -> Iterator[Metric]:
        """Family skeletons, so registering never touches libvirt."""
        for name in ("libvirt_up", "libvirt_domain_info_state",
                     "libvirt_domain_openstack_info"):
            yield GaugeMetricFamily(name, _help(name))
        for spec in fam.DOMAIN + fam.VCPU + fam.BLOCK + fam.NET:
            yield _family(spec, ())

    def base_values(self, sample: DomainSample, tenancy: model.Tenancy
                    ) -> tuple[str, ...]:
        """Values of ``base_labels`` for one domain; other per-VM collectors share it."""
        return (sample.name, sample.uuid) + tuple(
            tenancy.label_value(f) for f in self.tenant_labels)

    def collect(self) -> Iterator[Metric]:
        snap = self._snapshot()
        up = GaugeMetricFamily("libvirt_up", _help("libvirt_up"))
        up.add_metric([], 1 if snap.libvirt_up else 0)
        yield up
        rows = [(s, self.base_values(s, snap.tenancy_of(s.uuid))) for s in snap.samples]
        active = [(s, b) for s, b in rows if s.active]
        yield from self._state(rows)
        yield from self._openstack_info(snap)
        for spec in fam.DOMAIN:
            family = _family(spec, self.base_labels)
            for sample, base in (active if spec.active_only else rows):
                value = sample.scalars.get(spec.key)
                if value is not None:
                    family.add_metric(base, value * spec.scale)
            if family.samples:
                yield family
        yield from self._devices(active, fam.VCPU, "vcpu", lambda s: s.vcpus)
        yield from self._devices(active, fam.BLOCK, "device", lambda s: s.blocks)
        yield from self._devices(active, fam.NET, "interface", lambda s: s.nets)
        yield from self._perf(active)

    def _state(self, rows: Iterable[tuple[DomainSample, tuple[str, ...]]]
               ) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "libvirt_domain_info_state", _help("libvirt_domain_info_state"),
            labels=list(self.base_labels) + ["state"])
        for sample, base in rows:
            family.add_metric(base + (sample.state_name,), sample.state)
        yield family

    def _openstack_info(self, snap: Snapshot) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "libvirt_domain_openstack_info", _help("libvirt_domain_openstack_info"),
            labels=["domain", "uuid", *INFO_FIELDS, "port_ids", "fixed_ips", "source"])
        for sample in snap.samples:
            tenancy = snap.tenancy_of(sample.uuid)
            values = [sample.name, sample.uuid]
            values += [tenancy.label_value(f) for f in INFO_FIELDS]
            values += [*_ports_labels(tenancy), tenancy.source]
            family.add_metric(values, 1)
        yield family

    def _devices(self, rows: list[tuple[DomainSample, tuple[str, ...]]],
                 specs: Sequence[fam.Family], label: str,
                 devices: Callable[[DomainSample], Iterable]) -> Iterator[Metric]:
        labels = self.base_labels + (label,)
        for spec in specs:
            family = _family(spec, labels)
            for sample, base in rows:
                for device in devices(sample):
                    value = device.values.get(spec.key)
                    if value is not None:
                        family.add_metric(base + (device.name,), value * spec.scale)
            if family.samples:
                yield family

    def _perf(self, rows: list[tuple[DomainSample, tuple[str, ...]]]) -> Iterator[Metric]:
        events = _family(fam.PERF_EVENTS, self.base_labels + ("event",))
        gauges = {k: GaugeMetricFamily(n, h, labels=list(self.base_labels))
                  for k, (n, h) in fam.PERF_GAUGES.items()}
        for sample, base in rows:
            for key, value in sample.scalars.items():
                if not key.startswith("perf."):
                    continue
                event = key[len("perf."):]
                if event in gauges:
                    gauges[event].add_metric(base, value)
                else:
                    events.add_metric(base + (event,), value)
        yield from (f for f in (events, *gauges.values()) if f.samples)


class SelfCollector(Collector):
    """The exporter's own health, fresh on every scrape."""

    def __init__(self, snapshot: Callable[[], Snapshot], errors: ErrorCounts,
                 scrape_started: Callable[[], float]) -> None:
        self._snapshot = snapshot
        self._errors = errors
        self._scrape_started = scrape_started

    def describe(self) -> Iterator[Metric]:
        return iter(())

    def collect(self) -> Iterator[Metric]:
        snap = self._snapshot()
        values = {
            "enricher_collection_duration_seconds": snap.duration,
            "enricher_collection_timestamp_seconds": snap.collected_at,
            "enricher_domains": len(snap.samples),
            "enricher_tenancy_unresolved_domains": sum(
                1 for s in snap.samples if snap.tenancy_of(s.uuid).project_id is None),
            "enricher_domains_skipped": snap.skipped,
            "enricher_domains_cpu_time_from_cgroup": snap.cpu_from_cgroup,
            "enricher_domains_vcpu_times_from_proc": snap.vcpu_from_proc,
        }
        for name, _type, doc in fam.SELF:
            if name in values:
                yield GaugeMetricFamily(name, doc, value=values[name])
        yield GaugeMetricFamily("enricher_collection_interval_seconds",
                                interval_help(snap.interval), value=snap.interval)
        errors = CounterMetricFamily("enricher_errors", _help("enricher_errors_total"),
                                     labels=["source", "kind"])
        for (source, kind), count in sorted(self._errors.snapshot().items()):
            errors.add_metric([source, kind], count)
        yield errors
        yield GaugeMetricFamily(
            "enricher_scrape_duration_seconds", _help("enricher_scrape_duration_seconds"),
            value=time.monotonic() - self._scrape_started())


def registries(snapshot: Callable[[], Snapshot], errors: ErrorCounts,
               tenant_labels: Sequence[str], scrape_started: Callable[[], float],
               per_scrape: Sequence[Collector] = (),
               served: Callable[[], Snapshot] | None = None,
               ) -> tuple[CollectorRegistry, CollectorRegistry]:
    """Two registries: per-snapshot domain families, and per-scrape self-metrics.

    ``per_scrape`` collectors (domain events) change between snapshots, so
    they go on the second registry, rendered on every scrape. ``served`` is
    the snapshot a scrape serves (default: ``snapshot``), for self-metrics.
    """
    domains = CollectorRegistry(auto_describe=True)
    per_vm = DomainCollector(snapshot, tenant_labels)
    domains.register(per_vm)
    domains.register(ExtraCollector(snapshot, per_vm.base_labels, per_vm.base_values))
    own = CollectorRegistry(auto_describe=False)
    own.register(SelfCollector(served or snapshot, errors, scrape_started))
    for collector in per_scrape:
        own.register(collector)
    return domains, own
