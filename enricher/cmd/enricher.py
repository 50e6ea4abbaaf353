"""Console script ``enricher``: wire the parts, serve /metrics, stop on SIGTERM or SIGINT."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import urllib.parse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from oslo_config import cfg

from enricher import malloc, rlimit, service
from enricher.cmd import api
from enricher.cmd.masakari import masakari_sink
from enricher.cmd.nova import nova_fallback
from enricher.cmd.snmp import snmp_agent_from
from enricher.cmd.statsd import statsd_exporter
from enricher.cmd.web import web_guard
from enricher.events.monitor import EventMonitor
from enricher.exporters import endpoints, event_metrics, nova_metrics
from enricher.exporters.endpoints import HealthInputs
from enricher.exporters.exposition import MetricsApp, PerScrape
from enricher.exporters.runtime_metrics import guard_families, runtime_families
from enricher.exporters.web import Limits, WebServer
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
        self.nova = nova_fallback(conf, self.errors)
        self.resolver = Resolver(self.errors, ttl=conf.libvirt.metadata_cache_ttl,
                                 fallback=self.nova)
        reader = StatsReader(groups, slow_groups=conf.libvirt.slow_stats_groups,
                             slow_every=conf.libvirt.slow_stats_every,
                             host_cpu=host_cpu(conf), timeout=conf.libvirt.stats_timeout)
        self.sampler = Sampler(self.connection, reader, self.resolver,
                               self.errors, interval=conf.interval, extra=self.extra)
        masakari = masakari_sink(conf, self.errors.threads)  # cfg.Error if unusable
        self.api = api.api_part(conf, self.sampler, self.connection, self.errors,
                                host_cpu(conf))
        self.snmp = snmp_agent_from(conf, self.errors)  # cfg.Error if unusable
        sinks = [self.api.events] if self.api and self.api.events else []
        sinks += self.snmp.sinks() if self.snmp else []
        self.events = (EventMonitor(conf, self.connection, self.resolver, self.errors,
                                    on_event=self.sampler.wake, masakari=masakari,
                                    sinks=sinks)
                       if conf.events.enabled else None)
        # A dropped or restored connection shows in the next collection, soon.
        self.connection.on_close.append(lambda _reason: self.sampler.wake())
        self.connection.on_reconnect.append(lambda _conn: self.sampler.wake())
        tenant_labels = conf.prometheus.tenant_labels
        self.guard = web_guard(conf)  # cfg.Error if the web config file is unusable
        self.server = WebServer(conf.prometheus.host, conf.prometheus.port,
                                web_limits(conf), self.guard)
        sources: list[PerScrape] = [
            lambda: runtime_families(self.errors.threads, self.server.stats)]
        if self.guard is not None:
            guard = self.guard
            sources.append(lambda: guard_families(guard))
        sources += per_scrape(self.events, self.nova, tenant_labels)
        self.statsd = statsd_exporter(conf, self.sampler, self.errors)
        if self.statsd is not None:
            sources.append(self.statsd.families)
        self.app = MetricsApp(self.sampler, self.errors, tenant_labels, sources,
                              self.api.per_snapshot(tuple(tenant_labels)) if self.api else (),
                              profile=conf.prometheus.metric_names,
                              device_info=conf.prometheus.device_info)
        self.sampler.on_snapshot.append(self.app.prepare)
        if self.events is not None:
            self.sampler.on_snapshot.append(self.events.counters.on_snapshot)
        if self.snmp is not None:
            self.snmp.wire(self.sampler, self.connection)
        endpoints.add_routes(self.server, self.app,
                             HealthInputs(self.sampler, self.errors.threads, conf.interval))
        if self.api is not None:
            api.serve(conf, self.api, self.sampler, self.server, web_limits(conf), self.guard)

    def start(self) -> None:
        if self.events is not None:
            self.events.start()
        self.sampler.start()
        if self.statsd is not None:
            self.statsd.start()
        self.server.start()
        if self.api is not None:
            self.api.start()
        if self.snmp is not None:
            self.snmp.start()

    def stop(self) -> None:
        if self.snmp is not None:
            self.snmp.stop()
        if self.api is not None:
            self.api.stop()
        self.server.stop()
        if self.statsd is not None:
            self.statsd.stop()
        self.sampler.stop()
        if self.events is not None:
            self.events.stop()
        if self.nova is not None:
            self.nova.stop()
        self.connection.close()

    def reload(self) -> None:
        """SIGHUP: logging and the web config re-read; every other part keeps running."""
        service.reload_logging(self.conf)
        if self.guard is not None:
            self.guard.reload()

    def stop_within(self, timeout: float) -> bool:
        """``stop()``, given up after ``timeout`` seconds (a call stuck in
        libvirt must not hold the process); whether it finished."""
        stopper = threading.Thread(target=self.stop, name="shutdown", daemon=True)
        stopper.start()
        stopper.join(timeout)
        return not stopper.is_alive()


def web_limits(conf: cfg.ConfigOpts) -> Limits:
    """The HTTP server's limits from [prometheus]."""
    opts = conf.prometheus
    return Limits(max_connections=opts.max_connections, idle_timeout=opts.idle_timeout,
                  send_timeout=opts.send_timeout, listen_backlog=opts.listen_backlog,
                  max_streams=conf.api.max_streams)


# Signals the main thread waits for; every other thread has them blocked.
SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT, signal.SIGHUP})
# Seconds a stop may take before the process exits anyway (systemd's
# TimeoutStopSec is 90 s; a stop that hangs must not wait for SIGKILL).
STOP_TIMEOUT = 4.0


def wait_for_stop(on_hangup: Callable[[], None] = lambda: None) -> int:
    """Wait for SIGTERM or SIGINT, calling ``on_hangup`` on each SIGHUP; the signal."""
    while True:
        signum = signal.sigwait(SIGNALS)
        if signum != signal.SIGHUP:
            return signum
        LOG.info("SIGHUP received: re-reading the logging configuration and the web "
                 "config (other options apply at the next restart)")
        try:
            on_hangup()
        except Exception:  # a failed reload must not stop the service
            LOG.exception("Reloading on SIGHUP failed; still running")


def _exit(code: int) -> NoReturn:
    """Leave now: threads stuck in libvirt calls must not hold the exit."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    malloc.limit_arenas()  # before any thread allocates
    # Before any thread starts: every thread inherits the mask, so the kernel
    # keeps these signals for sigwait() in this thread instead of handing
    # them to one that never runs Python's handler.
    signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    rlimit.raise_open_files()
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
    # Every option in effect, at DEBUG, secret ones (passwords) masked; after
    # Service() so that the Keystone auth plugin's options are registered.
    conf.log_opt_values(LOG, logging.DEBUG)
    svc.start()
    signum = wait_for_stop(svc.reload)
    LOG.info("Stopping on %s", signal.Signals(signum).name)
    if not svc.stop_within(STOP_TIMEOUT):
        LOG.warning("Parts of the service did not stop within %.0f s; exiting anyway",
                    STOP_TIMEOUT)
    _exit(0)


if __name__ == "__main__":
    sys.exit(main())
