"""``bench http``: /metrics latency under 1 and N concurrent scrapers, and SYN drops.

Each scraper is a closed loop: connect, GET /metrics with gzip, read, close,
again, as many Prometheus servers (or a load balancer's health checks) with
no connection reuse do. The kernel's listen-queue overflow counters
(``TcpExtListenOverflows``/``ListenDrops`` in /proc/net/netstat) are read
around each window: a drop there is a SYN the client has to retry a second
later, which is what a short listen backlog costs.
"""

from __future__ import annotations

import argparse
import dataclasses
import http.client
import tempfile
import threading
import time
from pathlib import Path

from tests.perf import nodegen, options, report, targets

NETSTAT = Path("/proc/net/netstat")


OPTIONS: options.Table = {
    "--domains": (40, "test-driver domains"),
    "--scrapers": ("1,20", "comma-separated concurrent scraper counts"),
    "--seconds": (20.0, "window length per scraper count"),
    "--interval": (15.0, "[DEFAULT] interval of the enricher"),
    "--source": (Path, "a checkout whose enricher/ to run instead of this one's (e.g. a git "
                       "worktree of an older release)"),
}


def listen_drops() -> int:
    """TcpExtListenOverflows + TcpExtListenDrops of the whole host (0 if unreadable)."""
    try:
        lines = NETSTAT.read_text().splitlines()
    except OSError:
        return 0
    total = 0
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if not names.startswith("TcpExt:"):
            continue
        for name, value in zip(names.split()[1:], values.split()[1:], strict=True):
            if name in ("ListenOverflows", "ListenDrops"):
                total += int(value)
    return total


def process_status(pid: int) -> tuple[int, int]:
    """(resident MiB, threads) of a process, from /proc/<pid>/status."""
    fields = dict(line.split(":", 1) for line in
                  Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) // 1024, int(fields["Threads"])


@dataclasses.dataclass(frozen=True)
class Window:
    """One load window: every scrape's latency, failures and the SYN drops seen."""

    scrapers: int
    seconds: float
    latencies: list[float]
    failures: int
    syn_drops: int

    def row(self) -> list[str]:
        ms = [x * 1000 for x in self.latencies]
        return [str(self.scrapers), report.fmt(len(ms) / self.seconds, 0),
                report.fmt(report.percentile(ms, 50), 2),
                report.fmt(report.percentile(ms, 99), 2),
                report.fmt(max(ms) if ms else None, 1),
                str(self.failures), str(self.syn_drops)]


HEADERS = ["scrapers", "scrapes/s", "p50 ms", "p99 ms", "max ms", "failed", "SYN drops"]


def one_scrape(host: str, port: int, timeout: float = 10.0) -> float:
    """One GET /metrics on a new connection; its latency in seconds."""
    started = time.monotonic()
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", "/metrics", headers={"Accept-Encoding": "gzip"})
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise http.client.HTTPException(f"status {response.status}")
    finally:
        conn.close()
    return time.monotonic() - started


def load(host: str, port: int, scrapers: int, seconds: float) -> Window:
    """``scrapers`` closed-loop scrapers for ``seconds``."""
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    end = time.monotonic() + seconds

    def loop() -> None:
        while time.monotonic() < end:
            try:
                latency = one_scrape(host, port)
            except (OSError, http.client.HTTPException):
                with lock:
                    failures[0] += 1
                continue
            with lock:
                latencies.append(latency)

    before = listen_drops()
    threads = [threading.Thread(target=loop, daemon=True) for _ in range(scrapers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Window(scrapers, seconds, latencies, failures[0], listen_drops() - before)


def run(args: argparse.Namespace) -> int:
    counts = [int(x) for x in args.scrapers.split(",") if x]
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp:
        workdir = Path(tmp)
        node = workdir / "node.xml"
        nodegen.write_node(node, args.domains)
        if args.source is not None:
            targets.frozen_source(workdir, args.source)
        with targets.enricher(workdir, f"test://{node}", args.interval) as target:
            host, port = "127.0.0.1", int(target.url.rsplit(":", 1)[1].split("/")[0])
            windows = [load(host, port, n, args.seconds) for n in counts]
            rss, threads = process_status(target.pid)
    version = args.source or targets.source_version()
    print(report.table(HEADERS, [w.row() for w in windows],
                       title=f"/metrics under load ({args.domains} test-driver domains, "
                             f"{version}; after the windows: RSS {rss} MiB, "
                             f"{threads} threads)"))
    return 0 if all(w.failures == 0 for w in windows) else 1
