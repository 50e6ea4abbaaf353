"""Our own Prometheus-like scrapers: timed GETs with gzip, on a fixed schedule."""

from __future__ import annotations

import dataclasses
import gzip
import http.client
import re
import threading
import time
import urllib.parse
from collections.abc import Iterable

from prometheus_client.parser import text_string_to_metric_families

COLLECTION_RE = re.compile(rb"^enricher_collection_duration_seconds (\S+)$", re.M)


@dataclasses.dataclass(frozen=True)
class Scrape:
    """One GET /metrics: when, how long, how big, and the body (decompressed)."""

    started: float
    latency: float
    status: int
    wire_bytes: int
    body: bytes
    scraper: int = 0

    @property
    def collection_duration(self) -> float | None:
        """The enricher's enricher_collection_duration_seconds in this body, if any."""
        match = COLLECTION_RE.search(self.body)
        return float(match.group(1)) if match else None


def scrape(url: str, timeout: float = 30.0, scraper: int = 0) -> Scrape:
    """GET ``url`` as Prometheus does (Accept-Encoding: gzip), timing the whole exchange."""
    parts = urllib.parse.urlsplit(url)
    started = time.monotonic()
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request("GET", parts.path or "/", headers={
            "Accept-Encoding": "gzip",
            "Accept": "text/plain;version=0.0.4;q=1,*/*;q=0.1"})
        response = conn.getresponse()
        raw = response.read()
        latency = time.monotonic() - started
        gzipped = response.getheader("Content-Encoding", "") == "gzip"
        status = response.status
    finally:
        conn.close()
    body = gzip.decompress(raw) if gzipped else raw
    return Scrape(started, latency, status, len(raw), body, scraper)


@dataclasses.dataclass(frozen=True)
class Exposition:
    """What one exposition body holds."""

    series: int
    domains: int
    families: int


def parse(body: bytes, domain_label: str = "uuid") -> Exposition:
    """Count samples (series), distinct domains and families with prometheus_client."""
    series = 0
    families = 0
    domains: set[str] = set()
    for family in text_string_to_metric_families(body.decode()):
        families += 1
        for sample in family.samples:
            series += 1
            value = sample.labels.get(domain_label)
            if value:
                domains.add(value)
    return Exposition(series, len(domains), families)


def run_schedule(url: str, duration: float, period: float, scrapers: int,
                 start: float | None = None, timeout: float = 30.0) -> list[Scrape]:
    """Scrape every ``period`` seconds from ``scrapers`` threads, phases spread evenly.

    Scraper k scrapes at start + k*period/scrapers + j*period for every j with
    that instant before start + duration (like an HA Prometheus pair whose
    scrapes are not aligned), and returns after start + duration, with every
    scrape in start order.
    """
    start = time.monotonic() if start is None else start
    results: list[Scrape] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def loop(k: int) -> None:
        due = start + k * period / scrapers
        while due < start + duration:
            time.sleep(max(0.0, due - time.monotonic()))
            try:
                result = scrape(url, timeout, k)
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    errors.append(exc)
                return
            with lock:
                results.append(result)
            due += period

    threads = [threading.Thread(target=loop, args=(k,), daemon=True) for k in range(scrapers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    time.sleep(max(0.0, start + duration - time.monotonic()))  # the window's full length
    if errors:
        raise RuntimeError(f"scrape of {url} failed: {errors[0]!r}")
    bad = [s for s in results if s.status != 200]
    if bad:
        raise RuntimeError(f"scrape of {url} answered {bad[0].status}: {bad[0].body[:200]!r}")
    return sorted(results, key=lambda s: s.started)


def latencies(scrapes: Iterable[Scrape]) -> list[float]:
    return [s.latency for s in scrapes]
