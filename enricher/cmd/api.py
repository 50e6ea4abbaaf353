"""Build the [api] part of the service: vm_up, the history, the event history, the routes."""

from __future__ import annotations

import dataclasses
import logging

from oslo_config import cfg

from enricher.events.history import EventHistory
from enricher.exporters import rest
from enricher.exporters.exposition import PerSnapshot
from enricher.exporters.history import History
from enricher.exporters.history_sampler import HistorySampler, light_reader
from enricher.exporters.vm_up import VmUpTracker
from enricher.exporters.web import Limits, WebServer
from enricher.exporters.web_guard import WebGuard
from enricher.health import ErrorCounts
from enricher.libvirt.connection import Connection
from enricher.libvirt.host_cpu import HostCpuTime
from enricher.sampler import Sampler

LOG = logging.getLogger(__name__)


@dataclasses.dataclass
class ApiPart:
    """The API's pieces; ``server`` is set when it has a port of its own,
    ``light`` when the history is finer than the sampler's interval."""

    tracker: VmUpTracker
    history: History
    events: EventHistory | None
    server: WebServer | None = None
    light: HistorySampler | None = None

    def start(self) -> None:
        if self.light is not None:
            self.light.start()
        if self.server is not None:
            self.server.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
        if self.light is not None:
            self.light.stop()

    def per_snapshot(self, tenant_labels: tuple[str, ...]) -> list[PerSnapshot]:
        return [lambda _snap: self.tracker.families(tenant_labels)]


def history_interval(conf: cfg.ConfigOpts) -> float:
    """[api] history_interval, or the sampler's interval (0: what collections happen)."""
    return conf.api.history_interval or conf.interval


def api_part(conf: cfg.ConfigOpts, sampler: Sampler, connection: Connection,
             errors: ErrorCounts, host_cpu: HostCpuTime | None) -> ApiPart | None:
    """The API's state, fed by ``sampler`` (before any other consumer); None when off.

    ``host_cpu`` is a reader of its own for the light collection, if any.
    """
    if not conf.api.enabled:
        return None
    every = history_interval(conf)
    part = ApiPart(VmUpTracker(conf.api.vm_up_stale_period),
                   History(conf.api.history_seconds, every),
                   EventHistory(conf.api.event_history) if conf.events.enabled else None)
    sampler.on_snapshot[:0] = [part.tracker.on_snapshot, part.history.on_snapshot]
    if conf.api.history_interval and (conf.interval <= 0 or every < conf.interval):
        part.light = HistorySampler(connection, light_reader(host_cpu), part.history,
                                    every, errors)
        LOG.info("Stats history every %.0f s: a light collection (state, CPU, vCPU, "
                 "interface) between the full ones", every)
    return part


def own_port(conf: cfg.ConfigOpts) -> bool:
    return conf.api.port is not None and conf.api.port != conf.prometheus.port


def serve(conf: cfg.ConfigOpts, part: ApiPart, sampler: Sampler, metrics: WebServer,
          limits: Limits, guard: WebGuard | None = None) -> None:
    """Add the routes to ``metrics``, or to a server of its own on [api] port
    (behind the same web config ``guard``: TLS, basic auth, headers)."""
    api = rest.RestApi(sampler, part.history, part.events, conf.api.stream_keepalive)
    if own_port(conf):
        host = conf.api.host or conf.prometheus.host
        try:
            part.server = WebServer(host, conf.api.port, limits, guard)
        except OSError as exc:
            raise cfg.Error("cannot listen on [api] host/port %s:%s: %s"
                            % (host, conf.api.port, exc.strerror)) from exc
        rest.add_routes(part.server, api, own_port=True)
    else:
        rest.add_routes(metrics, api, own_port=False)
