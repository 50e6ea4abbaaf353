"""Build the [api] part of the service: vm_up, the history, the event history, the routes."""

from __future__ import annotations

import dataclasses
import logging

from oslo_config import cfg

from enricher.events.history import EventHistory
from enricher.exporters import rest
from enricher.exporters.exposition import PerSnapshot
from enricher.exporters.history import History
from enricher.exporters.vm_up import VmUpTracker
from enricher.exporters.web import Limits, WebServer
from enricher.exporters.web_guard import WebGuard
from enricher.sampler import Sampler

LOG = logging.getLogger(__name__)


@dataclasses.dataclass
class ApiPart:
    """The API's pieces; ``server`` is set when it has a port of its own."""

    tracker: VmUpTracker
    history: History
    events: EventHistory | None
    server: WebServer | None = None

    def per_snapshot(self, tenant_labels: tuple[str, ...]) -> list[PerSnapshot]:
        return [lambda _snap: self.tracker.families(tenant_labels)]


def history_interval(conf: cfg.ConfigOpts) -> float:
    """[api] history_interval, or the sampler's interval (0: what collections happen)."""
    return conf.api.history_interval or conf.interval


def api_part(conf: cfg.ConfigOpts, sampler: Sampler) -> ApiPart | None:
    """The API's state, fed by ``sampler`` (before any other consumer); None when off."""
    if not conf.api.enabled:
        return None
    part = ApiPart(VmUpTracker(conf.api.vm_up_stale_period),
                   History(conf.api.history_seconds, history_interval(conf)),
                   EventHistory(conf.api.event_history) if conf.events.enabled else None)
    sampler.on_snapshot[:0] = [part.tracker.on_snapshot, part.history.on_snapshot]
    return part


def own_port(conf: cfg.ConfigOpts) -> bool:
    return conf.api.port is not None and conf.api.port != conf.prometheus.port


def serve(conf: cfg.ConfigOpts, part: ApiPart, sampler: Sampler, metrics: WebServer,
          limits: Limits, guard: WebGuard | None = None) -> None:
    """Add the routes to ``metrics``, or to a server of its own on [api] port
    (behind the same web config ``guard``: TLS, basic auth, headers)."""
    api = rest.RestApi(sampler, part.history, part.events, conf.api.stream_keepalive)
    if own_port(conf):
        part.server = WebServer(conf.api.host or conf.prometheus.host, conf.api.port, limits,
                                guard)
        rest.add_routes(part.server, api, own_port=True)
    else:
        rest.add_routes(metrics, api, own_port=False)
