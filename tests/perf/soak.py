"""``bench soak``: N concurrent scrapers for a long window; latency, RSS and threads over time.

The enricher serves ``--domains`` test-driver domains and collects every
``--interval`` seconds (a new snapshot rendered each time) while
``--scrapers`` closed-loop scrapers (``http_load.one_scrape``: a new
connection, GET /metrics with gzip) run for ``--seconds``, while
``--streams`` REST API event streams stay open (read by one thread); a
stream the server ends fails the run. Its RSS and thread
count are read from /proc every ``--sample`` seconds. After a warm-up (the
first ``--warmup`` fraction of the window), RSS must grow by less than
``--max-growth`` per cent; once the scrapers are gone the thread count must
be no higher than at the end of the warm-up (by then asyncio's executor,
which renders off the event loop right after a collection, has its few
threads: a pool of at most min(32, cores + 4), idle threads kept). Any failed
scrape fails the run.

Long form (the docs' figures): ``python -m tests.perf.bench soak`` (10 min).
CI runs a short form (tests/perf/test_soak.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import http.client
import selectors
import socket
import tempfile
import threading
import time
from pathlib import Path

from tests.perf import http_load, nodegen, options, report, targets

OPTIONS: options.Table = {
    "--domains": (1000, "test-driver domains"),
    "--scrapers": (20, "concurrent closed-loop scrapers"),
    "--seconds": (600.0, "length of the load window"),
    "--interval": (2.0, "[DEFAULT] interval of the enricher (a new snapshot each time)"),
    "--sample": (2.0, "seconds between RSS and thread-count readings"),
    "--warmup": (0.2, "fraction of the window before RSS growth is measured"),
    "--max-growth": (5.0, "RSS growth allowed after the warm-up, per cent"),
    "--streams": (100, "REST API event streams held open for the whole window"),
    "--history-seconds": (60, "[api] history_seconds: the snapshot history the REST API "
                              "keeps fills during the warm-up, which lasts at least this "
                              "plus two intervals"),
}

STREAM_PATH = "/api/v1.0/events?stream=true"


@dataclasses.dataclass
class Soak:
    """What one soak run measured."""

    latencies: list[float]
    failures: int
    rss: list[tuple[float, int]]  # (seconds into the window, resident KiB)
    threads: list[tuple[float, int]]
    threads_before: int
    threads_after: int
    seconds: float
    warmup: float
    loadavg: str
    streams: int = 0
    streams_closed: int = 0  # streams the server ended during the window

    def rss_after_warmup(self) -> tuple[int, int]:
        """(RSS at the end of the warm-up, highest RSS after it), in KiB."""
        after = [kib for at, kib in self.rss if at >= self.warmup]
        before = [kib for at, kib in self.rss if at < self.warmup]
        base = before[-1] if before else after[0]
        return base, max(after)

    @property
    def threads_warm(self) -> int:
        """Threads at the end of the warm-up."""
        return [n for at, n in self.threads if at >= self.warmup][0]

    def fifths(self) -> list[tuple[int, int]]:
        """(lowest, highest) RSS in KiB in each fifth of the time after the warm-up.

        A leak raises the troughs from fifth to fifth; the saw tooth of one
        snapshot replacing the last does not.
        """
        span = (self.seconds - self.warmup) / 5
        out = []
        for i in range(5):
            low, high = self.warmup + i * span, self.warmup + (i + 1) * span
            part = [kib for at, kib in self.rss if low <= at < high or (i == 4 and at >= low)]
            if part:
                out.append((min(part), max(part)))
        return out

    @property
    def growth(self) -> float:
        """RSS growth after the warm-up, per cent."""
        base, top = self.rss_after_warmup()
        return 100.0 * (top - base) / base

    def table(self, domains: int, scrapers: int) -> str:
        ms = [x * 1000 for x in self.latencies]
        base, top = self.rss_after_warmup()
        row = [str(scrapers), f"{self.streams - self.streams_closed}/{self.streams}",
               report.fmt(self.seconds, 0), str(len(ms)),
               report.fmt(len(ms) / self.seconds, 1), report.fmt(report.percentile(ms, 50), 1),
               report.fmt(report.percentile(ms, 99), 1), str(self.failures),
               report.fmt(base / 1024, 1), report.fmt(top / 1024, 1),
               report.fmt(self.growth, 2), str(self.threads_before), str(self.threads_warm),
               str(max(n for _, n in self.threads)), str(self.threads_after)]
        headers = ["scrapers", "streams", "seconds", "scrapes", "scrapes/s", "p50 ms", "p99 ms",
                   "failed", "RSS warm MiB", "RSS max MiB", "growth %", "threads before",
                   "threads warm", "threads max", "threads after"]
        return report.table(headers, [row], title=(
            f"soak: {domains} test-driver domains, {targets.source_version()}; "
            f"load average before/after: {self.loadavg}"))


def _status_kib(pid: int) -> tuple[int, int]:
    fields = dict(line.split(":", 1) for line in
                  Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]), int(fields["Threads"])


class Streams:
    """``count`` event streams held open and read (and discarded) by one thread."""

    def __init__(self, host: str, port: int, count: int) -> None:
        self._selector = selectors.DefaultSelector()
        self._socks = []
        self.closed = 0
        self._stop = threading.Event()
        for _ in range(count):
            sock = socket.create_connection((host, port), timeout=10)
            sock.sendall(b"GET %s HTTP/1.1\r\nHost: %s\r\n\r\n"
                         % (STREAM_PATH.encode(), host.encode()))
            head = sock.recv(65536)
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError("event stream refused: %r" % head[:200])
            sock.setblocking(False)
            self._selector.register(sock, selectors.EVENT_READ)
            self._socks.append(sock)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            for key, _ in self._selector.select(timeout=0.5):
                try:
                    data = key.fileobj.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    self.closed += 1
                    self._selector.unregister(key.fileobj)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for sock in self._socks:
            sock.close()


def soak(host: str, port: int, pid: int, scrapers: int, seconds: float, sample: float,
         warmup: float, streams: int = 0) -> Soak:
    """Load the server at ``host:port`` (process ``pid``) and watch it."""
    loadavg = Path("/proc/loadavg").read_text().split()[:3]
    held = Streams(host, port, streams) if streams else None
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    start = time.monotonic()
    end = start + seconds

    def loop() -> None:
        while time.monotonic() < end:
            try:
                latency = http_load.one_scrape(host, port, timeout=30.0)
            except (OSError, http.client.HTTPException):
                with lock:
                    failures[0] += 1
                continue
            with lock:
                latencies.append(latency)

    _, threads_before = _status_kib(pid)
    clients = [threading.Thread(target=loop, daemon=True) for _ in range(scrapers)]
    for client in clients:
        client.start()
    rss: list[tuple[float, int]] = []
    counts: list[tuple[float, int]] = []
    while time.monotonic() < end:
        kib, threads = _status_kib(pid)
        at = time.monotonic() - start
        rss.append((at, kib))
        counts.append((at, threads))
        time.sleep(min(sample, max(0.0, end - time.monotonic())))
    for client in clients:
        client.join()
    closed = 0
    if held is not None:
        closed = held.closed
        held.close()
    # The server closes idle connections and its per-connection state at once.
    time.sleep(2.0)
    _, threads_after = _status_kib(pid)
    loadavg += Path("/proc/loadavg").read_text().split()[:3]
    return Soak(latencies, failures[0], rss, counts, threads_before, threads_after,
                seconds, seconds * warmup, " ".join(loadavg[:3]) + " / " + " ".join(loadavg[3:]),
                streams, closed)


def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as tmp:
        workdir = Path(tmp)
        node = workdir / "node.xml"
        nodegen.write_node(node, args.domains)
        extra = (f"[api]\nmax_streams = {args.streams + 16}\n"
                 f"history_seconds = {args.history_seconds}\n")
        warmup = max(args.warmup, (args.history_seconds + 2 * args.interval) / args.seconds)
        if warmup >= 0.9:
            raise SystemExit("the window is too short for the warm-up: lower "
                             "--history-seconds or lengthen --seconds")
        with targets.enricher(workdir, f"test://{node}", args.interval,
                              extra_conf=extra) as target:
            host, port = "127.0.0.1", int(target.url.rsplit(":", 1)[1].split("/")[0])
            http_load.one_scrape(host, port, timeout=60.0)  # first snapshot rendered
            result = soak(host, port, target.pid, args.scrapers, args.seconds, args.sample,
                          warmup, args.streams)
    print(result.table(args.domains, args.scrapers))
    step = max(1, len(result.rss) // 12)
    print("RSS over the window (s: MiB): " + ", ".join(
        "%.0f: %.1f" % (at, kib / 1024) for at, kib in result.rss[::step]))
    print("RSS (lowest-highest MiB) in each fifth after the warm-up: " + ", ".join(
        "%.1f-%.1f" % (low / 1024, high / 1024) for low, high in result.fifths()))
    problems = []
    if result.failures:
        problems.append(f"{result.failures} scrapes failed")
    if result.streams_closed:
        problems.append(f"{result.streams_closed} of {result.streams} event streams ended")
    if result.growth >= args.max_growth:
        problems.append(f"RSS grew {result.growth:.2f} % after the warm-up")
    if result.threads_after > result.threads_warm:
        problems.append(f"{result.threads_after - result.threads_warm} threads more "
                        "once the scrapers were gone than after the warm-up")
    for problem in problems:
        print("FAIL: " + problem)
    return 1 if problems else 0
