"""Prometheus families of the core per-VM metrics and of the exporter's own health.

Plain functions of what they are handed: the Snapshot to render, the
configured tenant labels, the error counts. Names, types, help and labels
come from the catalog; each family is built in catalog order.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from operator import attrgetter

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from enricher.exporters import catalog
from enricher.libvirt.stats import Device, DomainSample
from enricher.sampler import Snapshot
from enricher.tenancy import model

Row = tuple[DomainSample, tuple[str, ...]]  # a sample and its per-VM label values

# Device families read "<group>.<n>.<field>" keys: the sample's devices of that group.
_DEVICES: dict[str, Callable[[DomainSample], Iterable[Device]]] = {
    "vcpu": attrgetter("vcpus"),
    "block": attrgetter("blocks"),
    "net": attrgetter("nets"),
}
_PERF = "perf."
_PERF_EVENTS = _PERF + "<event>"


def family(spec: catalog.Family, labels: Sequence[str] = ()) -> Metric:
    """An empty gauge or counter family of ``spec`` with the given label names."""
    cls = CounterMetricFamily if spec.type == catalog.COUNTER else GaugeMetricFamily
    return cls(spec.base_name, spec.help, labels=list(labels))


def value_family(name: str, value: float, documentation: str | None = None) -> Metric:
    """A family of one unlabelled sample (``documentation`` overrides the help)."""
    spec = catalog.get(name)
    cls = CounterMetricFamily if spec.type == catalog.COUNTER else GaugeMetricFamily
    return cls(spec.base_name, documentation or spec.help, value=value)


def labelled_family(name: str, series: Iterable[tuple[Sequence[str], float]]) -> Metric:
    """A family of one sample per (label values, value) of ``series``, in that order."""
    spec = catalog.get(name)
    metric = family(spec, spec.labels)
    for labels, value in series:
        metric.add_metric(list(labels), value)
    return metric


def base_labels(tenant_labels: Sequence[str]) -> tuple[str, ...]:
    """The labels every per-VM series starts with."""
    return (*catalog.DOMAIN_LABELS, *tenant_labels)


def base_values(sample: DomainSample, tenancy: model.Tenancy,
                tenant_labels: Sequence[str]) -> tuple[str, ...]:
    """Values of ``base_labels`` for one domain."""
    return (sample.name, sample.uuid) + tuple(tenancy.label_value(f) for f in tenant_labels)


def interval_help(interval: float) -> str:
    """HELP of enricher_collection_interval_seconds: says how samples are collected."""
    if interval > 0:
        return ("Seconds between collections by the background sampler ([DEFAULT] "
                "interval): scrapes are served from the latest snapshot and never wait "
                "on libvirt.")
    return ("0: samples are collected from libvirt when scraped ([DEFAULT] interval = 0); "
            "concurrent scrapes share one collection.")


def domain_families(snapshot: Snapshot, tenant_labels: Sequence[str],
                    only: Container[str] | None = None) -> Iterator[Metric]:
    """Every core family of the snapshot's domains (or those named in ``only``),
    tenant-labelled."""
    base = base_labels(tenant_labels)
    rows = [(s, base_values(s, snapshot.tenancy_of(s.uuid), tenant_labels))
            for s in snapshot.samples]
    active = [(s, b) for s, b in rows if s.active]
    specs = catalog.of(catalog.CORE)
    perf_gauges = frozenset(s.stats_key for s in specs if s.stats_key.startswith(_PERF))
    for spec in specs:
        if only is not None and spec.name not in only:
            continue
        chosen = active if spec.active_only else rows
        if spec.name == "libvirt_up":
            yield value_family(spec.name, 1 if snapshot.libvirt_up else 0)
        elif spec.name == "libvirt_domain_info_state":
            yield _state(spec, base, chosen)
        elif spec.name == "libvirt_domain_openstack_info":
            yield _openstack_info(spec, snapshot)
        elif spec.name == "libvirt_domain_timed_out":
            yield _timed_out(spec, base, chosen, snapshot.timed_out)
        else:
            filled = family(spec, base + spec.labels)
            if spec.stats_key == _PERF_EVENTS:
                _perf_events(filled, chosen, perf_gauges - {_PERF_EVENTS})
            elif ".<n>." in spec.stats_key:
                group, _, field = spec.stats_key.partition(".<n>.")
                _devices(filled, spec, chosen, _DEVICES[group], field)
            else:
                _scalars(filled, spec, chosen)
            if filled.samples:
                yield filled


def _state(spec: catalog.Family, base: tuple[str, ...], rows: Iterable[Row]) -> Metric:
    filled = family(spec, base + spec.labels)
    for sample, values in rows:
        filled.add_metric(values + (sample.state_name,), sample.state)
    return filled


def _timed_out(spec: catalog.Family, base: tuple[str, ...], rows: Iterable[Row],
               stuck: frozenset[str]) -> Metric:
    filled = family(spec, base)
    for sample, values in rows:
        filled.add_metric(values, 1 if sample.uuid in stuck else 0)
    return filled


def _ports_labels(tenancy: model.Tenancy) -> tuple[str, str]:
    ports = ",".join(p.uuid for p in tenancy.ports)
    ips = ",".join(ip.address for p in tenancy.ports for ip in p.ips)
    return ports, ips


def _openstack_info(spec: catalog.Family, snapshot: Snapshot) -> Metric:
    filled = family(spec, spec.labels)
    for sample in snapshot.samples:
        tenancy = snapshot.tenancy_of(sample.uuid)
        values = [sample.name, sample.uuid]
        values += [tenancy.label_value(f) for f in catalog.INFO_FIELDS]
        values += [*_ports_labels(tenancy), tenancy.source]
        filled.add_metric(values, 1)
    return filled


def _scalars(filled: Metric, spec: catalog.Family, rows: Iterable[Row]) -> None:
    for sample, values in rows:
        value = sample.scalars.get(spec.stats_key)
        if value is not None:
            filled.add_metric(values, value * spec.scale)


def _devices(filled: Metric, spec: catalog.Family, rows: Iterable[Row],
             devices: Callable[[DomainSample], Iterable[Device]], field: str) -> None:
    for sample, values in rows:
        for device in devices(sample):
            value = device.values.get(field)
            if value is not None:
                filled.add_metric(values + (device.name,), value * spec.scale)


def _perf_events(filled: Metric, rows: Iterable[Row], taken: frozenset[str]) -> None:
    """Every ``perf.<event>`` scalar that no perf gauge takes, labelled by event."""
    for sample, values in rows:
        for key, value in sample.scalars.items():
            if key.startswith(_PERF) and key not in taken:
                filled.add_metric(values + (key[len(_PERF):],), value)


def self_families(snapshot: Snapshot, errors: Mapping[tuple[str, str], int],
                  scrape_started: float, clock: Callable[[], float] = time.monotonic
                  ) -> Iterator[Metric]:
    """The exporter's own health for one scrape of ``snapshot``.

    ``errors`` are the error counts by (source, kind); ``scrape_started`` is
    the ``clock()`` reading when the scrape began.
    """
    yield value_family("enricher_collection_duration_seconds", snapshot.duration)
    yield value_family("enricher_collection_timestamp_seconds", snapshot.collected_at)
    yield value_family("enricher_domains", len(snapshot.samples))
    yield value_family("enricher_tenancy_unresolved_domains", sum(
        1 for s in snapshot.samples if snapshot.tenancy_of(s.uuid).project_id is None))
    yield value_family("enricher_domains_skipped", snapshot.skipped)
    yield value_family("enricher_domains_cpu_time_from_cgroup", snapshot.cpu_from_cgroup)
    yield value_family("enricher_domains_vcpu_times_from_proc", snapshot.vcpu_from_proc)
    yield value_family("enricher_collection_interval_seconds", snapshot.interval,
                       interval_help(snapshot.interval))
    yield labelled_family("enricher_errors_total", sorted(errors.items()))
    yield value_family("enricher_scrape_duration_seconds", clock() - scrape_started)
