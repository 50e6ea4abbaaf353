"""HTTP server for /metrics, rendering each snapshot's exposition once."""

from __future__ import annotations

import dataclasses
import gzip
import http.server
import itertools
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence

from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.core import Metric

from enricher.exporters import extra_metrics, prometheus, text
from enricher.health import ErrorCounts
from enricher.sampler import Sampler, Snapshot

LOG = logging.getLogger(__name__)

LANDING = b"""<html><head><title>enricher</title></head><body>
<h1>enricher</h1><p>OpenStack tenant-labelled libvirt metrics:
<a href="/metrics">/metrics</a></p></body></html>
"""


# A per-scrape source: the families it yields are rendered on every scrape.
PerScrape = Callable[[], Iterable[Metric]]


@dataclasses.dataclass(frozen=True, slots=True)
class _Rendered:
    """The per-VM part of the exposition for one snapshot, plain and gzipped."""

    snapshot: Snapshot
    plain: bytes
    gzipped: bytes


class MetricsApp:
    """Renders /metrics: the per-VM part once per snapshot, self-metrics per scrape.

    ``per_scrape`` sources (domain events, the Nova fallback's figures) change
    between snapshots, so their families are rendered on every scrape, after
    the self-metrics.
    """

    def __init__(self, sampler: Sampler, errors: ErrorCounts,
                 tenant_labels: Sequence[str], per_scrape: Sequence[PerScrape] = ()
                 ) -> None:
        self._sampler = sampler
        self._errors = errors
        self._tenant_labels = tuple(tenant_labels)
        self._per_scrape = tuple(per_scrape)
        self._lock = threading.Lock()
        self._cached: _Rendered | None = None

    def prepare(self, snap: Snapshot) -> _Rendered:
        """Render (and compress) a snapshot's per-VM part, once.

        The sampler calls this right after each collection, so that scrapes
        only copy bytes.
        """
        with self._lock:
            cached = self._cached
            if cached is not None and cached.snapshot is snap:
                return cached
            plain = text.render(itertools.chain(
                prometheus.domain_families(snap, self._tenant_labels),
                extra_metrics.extra_families(snap, self._tenant_labels)))
            self._cached = _Rendered(snap, plain, gzip.compress(plain, compresslevel=1))
            return self._cached

    def render(self, gzipped: bool = False) -> bytes:
        """The full exposition for one scrape (a multi-member gzip if asked)."""
        started = time.monotonic()
        snap = self._sampler.latest()
        rendered = self.prepare(snap)
        own = text.render(itertools.chain(
            prometheus.self_families(snap, self._errors.snapshot(), started),
            itertools.chain.from_iterable(source() for source in self._per_scrape)))
        if gzipped:
            return rendered.gzipped + gzip.compress(own, compresslevel=1)
        return rendered.plain + own


class _Handler(http.server.BaseHTTPRequestHandler):
    app: MetricsApp
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            gzipped = "gzip" in self.headers.get("Accept-Encoding", "")
            body = self.server.app.render(gzipped)  # type: ignore[attr-defined]
            ctype = CONTENT_TYPE_LATEST
        elif path == "/":
            body, ctype, gzipped = LANDING, "text/html; charset=utf-8", False
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if gzipped:
            self.send_header("Content-Encoding", "gzip")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt: str, *args: object) -> None:
        LOG.debug("%s " + fmt, self.address_string(), *args)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A scraper that hung up mid-response is not worth a traceback."""
        LOG.debug("Request from %s failed", client_address, exc_info=True)

    def __init__(self, host: str, port: int, app: MetricsApp) -> None:
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host, port), _Handler)
        self.app = app


_WILDCARD = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


class MetricsServer:
    """Serves a MetricsApp in a background thread.

    The thread sleeps in ``select()`` until a scraper connects (no periodic
    wake-ups, unlike ``serve_forever``'s half-second poll); ``stop()`` wakes
    it with a connection of its own.
    """

    def __init__(self, host: str, port: int, app: MetricsApp) -> None:
        self._server = _Server(host, port, app)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="http", daemon=True)

    def _serve(self) -> None:
        while not self._stopping.is_set():
            self._server.handle_request()  # blocks: self._server.timeout is None

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def start(self) -> None:
        self._thread.start()
        LOG.info("Serving metrics on http://%s:%d/metrics",
                 self._server.server_address[0], self.port)

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            host = self._server.server_address[0]
            try:
                with socket.create_connection((_WILDCARD.get(host, host), self.port),
                                              timeout=1.0):
                    pass
            except OSError as exc:
                LOG.debug("Could not wake the metrics server to stop it: %s", exc)
            self._thread.join(timeout=5.0)
        self._server.server_close()
