"""The HTTP endpoints: ``/`` (a landing page), ``/metrics`` and ``/healthz``."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import time

from prometheus_client import CONTENT_TYPE_LATEST

from enricher.exporters.exposition import MetricsApp
from enricher.exporters.web import Request, Response, WebServer
from enricher.health import ThreadHealth
from enricher.sampler import Sampler

LANDING = b"""<html><head><title>enricher</title></head><body>
<h1>enricher</h1><p>OpenStack tenant-labelled libvirt metrics:
<a href="/metrics">/metrics</a>, health: <a href="/healthz">/healthz</a></p></body></html>
"""
# A snapshot older than this many intervals (and STALE_GRACE seconds) is stale.
STALE_INTERVALS = 3
STALE_GRACE = 60.0


def accepts_gzip(header: str) -> bool:
    """Whether an ``Accept-Encoding`` value allows gzip (RFC 9110: q=0 forbids)."""
    gzip_q: float | None = None
    star_q: float | None = None
    for item in header.split(","):
        coding, _, params = item.partition(";")
        coding = coding.strip().lower()
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
                if not math.isfinite(quality):
                    quality = 0.0
        if coding in ("gzip", "x-gzip"):
            gzip_q = quality if gzip_q is None else max(gzip_q, quality)
        elif coding == "*":
            star_q = quality
    if gzip_q is not None:
        return gzip_q > 0
    return star_q is not None and star_q > 0


@dataclasses.dataclass(frozen=True, slots=True)
class HealthInputs:
    """What ``/healthz`` reads: the sampler's snapshot and the background threads."""

    sampler: Sampler
    threads: ThreadHealth
    interval: float


def health_report(inputs: HealthInputs, now: float) -> tuple[bool, dict[str, object]]:
    """(healthy, details): libvirt answered, the snapshot is fresh, threads run.

    Collecting at scrape time (interval 0), a service no one scraped yet has
    no collection to judge and is reported healthy.
    """
    snap = inputs.sampler.snapshot
    threads = inputs.threads.snapshot()
    problems = []
    age = now - snap.collected_at if snap.collected_at else None
    if age is None:
        if inputs.interval > 0:
            problems.append("no collection yet")
    elif not snap.libvirt_up:
        problems.append("libvirt did not answer the last collection")
    if age is not None and inputs.interval > 0:
        limit = STALE_INTERVALS * inputs.interval + STALE_GRACE
        if age > limit:
            problems.append("no collection in the last %.0f s" % limit)
    dead = sorted(name for name, (alive, _restarts) in threads.items() if not alive)
    if dead:
        problems.append("background threads not running: %s" % ", ".join(dead))
    return not problems, {
        "status": "ok" if not problems else "unhealthy",
        "problems": problems,
        "libvirt_up": snap.libvirt_up,
        "last_collection_age_seconds": None if age is None else round(age, 3),
        "domains": len(snap.samples),
        "threads": {name: {"running": alive, "restarts": restarts}
                    for name, (alive, restarts) in threads.items()},
    }


def add_routes(server: WebServer, metrics: MetricsApp, health: HealthInputs) -> None:
    """Serve ``/``, ``/metrics`` and ``/healthz`` (GET and HEAD) from ``server``;
    ``/healthz`` never asks for basic auth (it tells only whether libvirt answers)."""

    async def landing(_request: Request) -> Response:
        return Response(200, LANDING, "text/html; charset=utf-8")

    async def scrape(request: Request) -> Response:
        gzipped = accepts_gzip(request.headers.get("accept-encoding", ""))
        if metrics.blocking():
            loop = asyncio.get_running_loop()
            body = await loop.run_in_executor(None, metrics.render, gzipped)
        else:
            body = metrics.render(gzipped)
        return Response(200, body, CONTENT_TYPE_LATEST,
                        [("Content-Encoding", "gzip")] if gzipped else ())

    async def healthz(_request: Request) -> Response:
        healthy, details = health_report(health, time.time())
        body = json.dumps(details, sort_keys=True).encode() + b"\n"
        return Response(200 if healthy else 503, body, "application/json")

    server.route("/", landing)
    server.route("/metrics", scrape)
    server.route("/healthz", healthz, public=True)  # no auth: load balancers, systemd
