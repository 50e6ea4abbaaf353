"""Console script ``enricher``: wire the parts, serve /metrics, stop on SIGTERM."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Sequence

from oslo_config import cfg

from enricher import service
from enricher.exporters.http import MetricsApp, MetricsServer
from enricher.health import ErrorCounts
from enricher.libvirt.connection import Connection
from enricher.libvirt.stats import StatsReader
from enricher.sampler import Sampler
from enricher.tenancy.resolver import Resolver

LOG = logging.getLogger("enricher")


class Service:
    """The running enricher: sampler, tenancy cache and HTTP endpoint."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.conf = conf
        self.errors = ErrorCounts()
        self.connection = Connection.from_conf(conf)
        groups = ["state"] + [g for g in conf.libvirt.stats_groups if g != "state"]
        self.resolver = Resolver(self.errors, ttl=conf.libvirt.metadata_cache_ttl)
        self.sampler = Sampler(self.connection, StatsReader(groups), self.resolver,
                               self.errors, interval=conf.interval)
        self.app = MetricsApp(self.sampler, self.errors, conf.prometheus.tenant_labels)
        self.server = MetricsServer(conf.prometheus.host, conf.prometheus.port, self.app)

    def start(self) -> None:
        self.sampler.start()
        self.server.start()

    def stop(self) -> None:
        self.server.stop()
        self.sampler.stop()
        self.connection.close()


def main(argv: Sequence[str] | None = None) -> int:
    try:
        conf = service.prepare(argv)
    except service.ConfigError as exc:
        print("enricher: error: %s" % exc, file=sys.stderr)
        return 2
    service.setup_logging(conf)
    try:
        svc = Service(conf)
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
