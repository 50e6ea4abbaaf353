"""Prometheus families of the process itself: background threads and HTTP connections."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import Metric

from enricher.exporters.prometheus import labelled_family, value_family
from enricher.exporters.tls import REASONS
from enricher.exporters.web import ConnectionStats
from enricher.exporters.web_guard import WebGuard
from enricher.health import ThreadHealth


def runtime_families(threads: ThreadHealth, connections: ConnectionStats
                     ) -> Iterator[Metric]:
    """Thread health and connection counters as they are now; never blocks."""
    state = threads.snapshot()
    yield labelled_family("enricher_thread_up",
                          [((name,), 1 if alive else 0)
                           for name, (alive, _n) in state.items()])
    yield labelled_family("enricher_thread_restarts_total",
                          [((name,), n) for name, (_alive, n) in state.items()])
    yield value_family("enricher_http_connections", connections.open)
    yield value_family("enricher_http_connections_max", connections.max_connections)
    yield labelled_family("enricher_http_connections_closed_total", [
        (("evicted",), connections.evicted), (("rejected",), connections.rejected),
        (("send_timeout",), connections.send_timeouts),
        (("header_too_large",), connections.oversized)])


def guard_families(guard: WebGuard) -> Iterator[Metric]:
    """TLS handshake errors, 401s and web config reloads ([prometheus] web_config_file)."""
    yield labelled_family("enricher_http_tls_handshake_errors_total",
                          [((reason,), guard.handshake_errors[reason]) for reason in REASONS])
    yield value_family("enricher_http_auth_failures_total", guard.auth_failures)
    yield value_family("enricher_web_config_last_reload_successful",
                       1 if guard.last_reload_ok else 0)
    yield labelled_family("enricher_web_config_reloads_total",
                          [((result,), guard.reloads[result])
                           for result in ("success", "failure")])
