"""Console script ``enricher``: wire the parts, serve /metrics, stop on SIGTERM."""

from __future__ import annotations

import logging
import signal
import socket
import sys
import threading
import urllib.parse
from collections.abc import Sequence
from pathlib import Path

from oslo_config import cfg

from enricher import malloc, service
from enricher.backoff import Backoff
from enricher.events.monitor import EventMonitor
from enricher.exporters import event_metrics, nova_metrics
from enricher.exporters.http import MetricsApp, MetricsServer, PerScrape
from enricher.extra import catalog as extra_catalog
from enricher.extra.runner import ExtraRunner
from enricher.health import ErrorCounts
from enricher.libvirt import events as libvirt_events
from enricher.libvirt.connection import Connection
from enricher.libvirt.host_cpu import HostCpuTime
from enricher.libvirt.stats import StatsReader
from enricher.sampler import Sampler
from enricher.tenancy.fallback import NovaFallback
from enricher.tenancy.resolver import Resolver

LOG = logging.getLogger("enricher")


def nova_fallback(conf: cfg.ConfigOpts, errors: ErrorCounts) -> NovaFallback | None:
    """The Nova API fallback, or None (said once) when no credentials are set."""
    if not (conf.nova.cloud or conf.service_credentials.auth_type):
        LOG.info("Nova API fallback is off: no [service_credentials] auth_type and "
                 "no [nova] cloud configured; tenancy comes from metadata only")
        return None
    from enricher.tenancy import nova_api  # openstacksdk is heavy: import on demand

    source = nova_api.NovaTenancySource(conf, socket.gethostname())
    if not source.enabled:
        return None
    return NovaFallback(source, errors, cache_ttl=conf.nova.cache_ttl,
                        negative_ttl=conf.nova.negative_cache_ttl,
                        refresh_min_interval=conf.nova.refresh_min_interval,
                        backoff=Backoff(1.0, float(conf.nova.backoff_max)))


def host_cpu(conf: cfg.ConfigOpts) -> HostCpuTime | None:
    """The host-side CPU and vCPU time reader, for a local QEMU connection when enabled."""
    cpu, vcpus = conf.libvirt.cpu_time_from_cgroup, conf.libvirt.vcpu_times_from_proc
    if not (cpu or vcpus):
        return None
    uri = urllib.parse.urlsplit(conf.libvirt.connection_uri)
    if uri.scheme not in ("qemu", "qemu+unix") or uri.netloc:
        LOG.info("CPU and vCPU times come from libvirt's cpu and vcpu stats groups: "
                 "%s is not a local QEMU connection", conf.libvirt.connection_uri)
        return None
    return HostCpuTime(Path(conf.libvirt.qemu_pid_dir), cpu=cpu, vcpus=vcpus)


def per_scrape(events: EventMonitor | None, nova: NovaFallback | None,
               tenant_labels: Sequence[str]) -> list[PerScrape]:
    """The families rendered on every scrape after the self-metrics: events, Nova."""
    sources: list[PerScrape] = []
    if events is not None:
        sources.append(lambda: event_metrics.event_families(
            events.counters.rows(), events.stats(), tenant_labels))
    if nova is not None:
        sources.append(lambda: nova_metrics.nova_families(nova_metrics.NovaFigures.read(nova)))
    return sources


class Service:
    """The running enricher: sampler, tenancy cache and HTTP endpoint."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.conf = conf
        self.errors = ErrorCounts()
        if conf.events.enabled:
            # libvirt wants its event loop registered before any connection opens.
            libvirt_events.register_default_impl()
        self.connection = Connection.from_conf(conf)
        groups = ["state"] + [g for g in conf.libvirt.stats_groups if g != "state"]
        self.extra = ExtraRunner.from_conf(conf, self.errors)
        if self.extra is not None:
            groups = extra_catalog.stats_groups(groups, self.extra.selectors)
        self.resolver = Resolver(self.errors, ttl=conf.libvirt.metadata_cache_ttl)
        self.nova = nova_fallback(conf, self.errors)
        self.resolver.fallback = self.nova
        reader = StatsReader(groups, slow_groups=conf.libvirt.slow_stats_groups,
                             slow_every=conf.libvirt.slow_stats_every,
                             host_cpu=host_cpu(conf))
        self.sampler = Sampler(self.connection, reader, self.resolver,
                               self.errors, interval=conf.interval, extra=self.extra)
        self.events = (EventMonitor(conf, self.connection, self.resolver, self.errors,
                                    on_event=self.sampler.wake)
                       if conf.events.enabled else None)
        # A dropped or restored connection shows in the next collection, soon.
        self.connection.on_close.append(lambda _reason: self.sampler.wake())
        self.connection.on_reconnect.append(lambda _conn: self.sampler.wake())
        tenant_labels = conf.prometheus.tenant_labels
        self.app = MetricsApp(self.sampler, self.errors, tenant_labels,
                              per_scrape(self.events, self.nova, tenant_labels))
        self.sampler.on_snapshot.append(self.app.prepare)
        if self.events is not None:
            self.sampler.on_snapshot.append(self.events.counters.on_snapshot)
        self.server = MetricsServer(conf.prometheus.host, conf.prometheus.port, self.app)

    def start(self) -> None:
        if self.events is not None:
            self.events.start()
        self.sampler.start()
        self.server.start()

    def stop(self) -> None:
        self.server.stop()
        self.sampler.stop()
        if self.events is not None:
            self.events.stop()
        if self.nova is not None:
            self.nova.stop()
        self.connection.close()


def main(argv: Sequence[str] | None = None) -> int:
    malloc.limit_arenas()  # before any thread allocates
    try:
        conf = service.prepare(argv)
    except service.ConfigError as exc:
        print("enricher: error: %s" % exc, file=sys.stderr)
        return 2
    service.setup_logging(conf)
    try:
        svc = Service(conf)
    except cfg.Error as exc:
        print("enricher: error: %s" % str(exc).splitlines()[0], file=sys.stderr)
        return 2
    except OSError as exc:
        print("enricher: error: cannot listen on [prometheus] host/port %s:%s: %s"
              % (conf.prometheus.host, conf.prometheus.port, exc.strerror),
              file=sys.stderr)
        return 1
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    svc.start()
    stop.wait()
    LOG.info("Stopping")
    svc.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
