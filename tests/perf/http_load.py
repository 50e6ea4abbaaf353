"""``bench http``: /metrics latency under 1 and N concurrent scrapers, and SYN drops.

Each scraper is a closed loop: connect, GET /metrics with gzip, read, close,
again, as many Prometheus servers (or a load balancer's health checks) with
no connection reuse do. The kernel's listen-queue overflow counters
(``TcpExtListenOverflows``/``ListenDrops`` in /proc/net/netstat) are read
around each window: a drop there is a SYN the client has to retry a second
later, which is what a short listen backlog costs.

``--tls-auth`` runs a second enricher serving TLS with client certificates
and basic auth (a web config as an operator would write it: bcrypt cost 10)
and alternates windows between the two, so that both see the same machine
noise: latency, the enricher's CPU per scrape and whole-host CPU side by side.
Each scrape is a new connection, so a TLS scrape pays a full handshake (the
worst case: Prometheus keeps its connections open between scrapes).
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import http.client
import os
import ssl
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from tests.perf import cpu, nodegen, options, report, targets

NETSTAT = Path("/proc/net/netstat")


OPTIONS: options.Table = {
    "--domains": (40, "test-driver domains"),
    "--scrapers": ("1,20", "comma-separated concurrent scraper counts"),
    "--seconds": (20.0, "window length per scraper count"),
    "--interval": (15.0, "[DEFAULT] interval of the enricher"),
    "--source": (Path, "a checkout whose enricher/ to run instead of this one's (e.g. a git "
                       "worktree of an older release)"),
    "--tls-auth": (False, "compare with an enricher serving mTLS + basic auth (windows "
                          "interleaved; see the module docstring)"),
    "--rounds": (2, "with --tls-auth: plain/TLS window pairs per scraper count"),
}
STAT = Path("/proc/stat")


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


def host_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole host, from the first line of /proc/stat."""
    fields = [float(x) for x in STAT.read_text().split("\n", 1)[0].split()[1:9]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


@dataclasses.dataclass(frozen=True)
class Client:
    """How a scraper talks to a target: TLS context and extra headers (None: plain)."""

    context: ssl.SSLContext | None = None
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)


def one_scrape(host: str, port: int, timeout: float = 10.0, client: Client = Client()
               ) -> float:
    """One GET /metrics on a new connection; its latency in seconds."""
    started = time.monotonic()
    conn = (http.client.HTTPConnection(host, port, timeout=timeout) if client.context is None
            else http.client.HTTPSConnection(host, port, timeout=timeout,
                                             context=client.context))
    try:
        conn.request("GET", "/metrics", headers={"Accept-Encoding": "gzip", **client.headers})
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise http.client.HTTPException(f"status {response.status}")
    finally:
        conn.close()
    return time.monotonic() - started


def load(host: str, port: int, scrapers: int, seconds: float, client: Client = Client()
         ) -> Window:
    """``scrapers`` closed-loop scrapers for ``seconds``."""
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    end = time.monotonic() + seconds

    def loop() -> None:
        while time.monotonic() < end:
            try:
                latency = one_scrape(host, port, client=client)
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


def tls_setup(workdir: Path) -> tuple[str, Client]:
    """A web config (mTLS, basic auth at bcrypt cost 10) and a client that passes it."""
    from tests.tlscerts import PASSWORD, USER, Pki  # cryptography: only for this mode

    pki = Pki(workdir)
    pki.write(cost=10)
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    return (f"[prometheus]\nweb_config_file = {pki.web}\n",
            Client(pki.client_context(pki.client), {"Authorization": "Basic " + token}))


def run_tls(args: argparse.Namespace, counts: list[int]) -> int:
    """Plain and TLS + basic auth windows, interleaved."""
    with tempfile.TemporaryDirectory(prefix="bench-http-tls-") as tmp:
        workdir = Path(tmp)
        node = workdir / "node.xml"
        nodegen.write_node(node, args.domains)
        web, client = tls_setup(workdir)

        def probe(port: int) -> bool:
            try:
                one_scrape("127.0.0.1", port, 5.0, client)
            except (OSError, http.client.HTTPException):
                return False
            return True

        uri = f"test://{node}"
        rows = []
        with targets.enricher(workdir / "plain", uri, args.interval) as plain, \
                targets.enricher(workdir / "tls", uri, args.interval, extra_conf=web,
                                 probe=probe) as tls:
            sides = (("plain", plain, Client()), ("tls+auth", tls, client))
            for n in counts:
                for _round in range(args.rounds):
                    for mode, target, side_client in sides:
                        port = int(target.url.rsplit(":", 1)[1].split("/")[0])
                        cpu_before, host_before = cpu.cpu_seconds(target.pid), host_busy()
                        window = load("127.0.0.1", port, n, args.seconds, side_client)
                        cpu_after, host_after = cpu.cpu_seconds(target.pid), host_busy()
                        scrapes = max(1, len(window.latencies))
                        busy = (host_after[0] - host_before[0]) / max(
                            1.0, host_after[1] - host_before[1])
                        rows.append([mode, *window.row(),
                                     report.fmt(((cpu_after or 0) - (cpu_before or 0))
                                                / scrapes * 1000, 2),
                                     report.fmt(busy * 100, 0)])
    load_avg = " ".join(os.getloadavg().__repr__().strip("()").split(", ")[:3])
    print(report.table(["mode", *HEADERS, "enricher CPU ms/scrape", "host CPU %"], rows,
                       title=f"/metrics plain vs mTLS + basic auth ({args.domains} "
                             f"test-driver domains, {targets.source_version()}, a new "
                             f"connection per scrape; load average after: {load_avg})"))
    return 0 if all(row[6] == "0" for row in rows) else 1


def run(args: argparse.Namespace) -> int:
    counts = [int(x) for x in args.scrapers.split(",") if x]
    if args.tls_auth:
        return run_tls(args, counts)
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
