"""``bench testdriver``: the enricher on a test-driver node of N domains (+ Nova simulator)."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests.perf import (
    cpu,
    goexporter,
    hostinfo,
    nodegen,
    novasim,
    options,
    report,
    scrape,
    targets,
)

TIMESTAMP_RE = re.compile(rb"^enricher_collection_timestamp_seconds (\S+)$", re.M)
UNRESOLVED_RE = re.compile(rb"^enricher_tenancy_unresolved_domains (\S+)$", re.M)
NOVA_GRACE = 0.5  # seconds


OPTIONS: options.Table = {
    "--domains": (1000, "domains"),
    "--without-metadata": (0, "domains without Nova metadata, resolved through the "
                              "Keystone+Nova simulator (0: no simulator)"),
    "--scrapes": (50, "timed scrapes per mode, after the first Nova look-up landed"),
    "--interval": (2.0, "[DEFAULT] interval of the background-sampler mode"),
    "--pace": (float, "seconds between scrapes (None: --interval/2, so that with the "
                      "background sampler every other scrape renders a new snapshot)"),
    "--modes": ("interval,0", "which modes: 'interval' (background sampler), '0' (at "
                              "scrape)"),
    "--with-go": (False, "also scrape the Go exporter on the same node file"),
    "--json": (Path, "write the arguments and each mode's result here (the RSS chart "
                     "of doc/source/performance.rst reads such files)"),
}


@dataclasses.dataclass
class ModeResult:
    """One enricher run on the node file."""

    mode: str
    interval: float
    latencies: list[float]
    fresh: list[float]
    cached: list[float]
    rss_mib: float | None
    hwm_mib: float | None
    domains: int
    series: int
    body_kib: float | None
    wire_kib: float | None
    collection_ms: float | None
    unresolved: int | None
    nova_first: int | None = None
    nova_first_seconds: float | None = None
    nova_steady: int | None = None
    nova_steady_seconds: float | None = None


def _float(pattern: re.Pattern[bytes], body: bytes) -> float | None:
    match = pattern.search(body)
    return float(match.group(1)) if match else None


def _wait_resolved(url: str, timeout: float = 60.0) -> float | None:
    """Scrape until no domain is unresolved (the first Nova look-up landed); when."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = scrape.scrape(url, timeout=60)
        if _float(UNRESOLVED_RE, result.body) == 0:
            return result.started + result.latency
        time.sleep(0.1)
    return None


def _scrapes(url: str, count: int, pace: float) -> list[scrape.Scrape]:
    done = []
    due = time.monotonic()
    for _ in range(count):
        time.sleep(max(0.0, due - time.monotonic()))
        result = scrape.scrape(url, timeout=60)
        if result.status != 200:
            raise RuntimeError(f"scrape answered {result.status}")
        done.append(result)
        due += pace
    return done


def run_mode(mode: str, interval: float, uri: str, args: argparse.Namespace,
             workdir: Path, extra_conf: str, clock: novasim.RequestClock | None
             ) -> ModeResult:
    pace = args.pace if args.pace is not None else args.interval / 2
    t0 = time.monotonic()
    with targets.enricher(workdir, uri, interval, extra_conf=extra_conf) as target:
        resolved_at = _wait_resolved(target.url) if clock is not None else None
        done = _scrapes(target.url, args.scrapes, pace)
        mem = cpu.memory_kib(target.pid)
    fresh, cached, last = [], [], None
    for s in done:
        stamp = _float(TIMESTAMP_RE, s.body)
        (fresh if stamp != last or interval == 0 else cached).append(s.latency)
        last = stamp
    end = done[-1].started + done[-1].latency
    parsed = scrape.parse(done[-1].body)
    result = ModeResult(
        mode, interval, [s.latency for s in done], fresh, cached,
        mem.get("VmRSS", 0) / 1024 or None, mem.get("VmHWM", 0) / 1024 or None,
        parsed.domains, parsed.series,
        (report.median(len(s.body) for s in done) or 0) / 1024,
        (report.median(s.wire_bytes for s in done) or 0) / 1024,
        _ms(report.median(s.collection_duration for s in done)),
        int(_float(UNRESOLVED_RE, done[-1].body) or 0))
    if clock is not None and resolved_at is not None:
        # The simulator logs a request after answering it: give the last
        # answer of the first look-up a moment to be counted as such.
        steady_from = resolved_at + NOVA_GRACE
        result.nova_first = clock.between(t0, steady_from)
        result.nova_first_seconds = resolved_at - t0
        result.nova_steady = clock.between(steady_from, end)
        result.nova_steady_seconds = end - steady_from
    return result


# A bare interpreter that opens the node as the enricher does: libvirt's test
# driver runs inside the client's process, so the domain definitions it holds
# count in the enricher's RSS here (on a real node they live in libvirtd).
_DRIVER_RSS = """
import sys, libvirt
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1])
before = rss()
conn = libvirt.openReadOnly(sys.argv[1])
for dom, _ in conn.getAllDomainStats(0, 0):
    dom.XMLDesc(0)
print(rss() - before)
"""


def test_driver_mib(uri: str) -> float | None:
    """RSS in MiB that libvirt's in-process test driver adds for the node at ``uri``."""
    result = subprocess.run([sys.executable, "-c", _DRIVER_RSS, uri], capture_output=True,
                            text=True, timeout=300, check=False)
    return int(result.stdout) / 1024 if result.returncode == 0 else None


def _ms(seconds: float | None) -> float | None:
    return seconds * 1000 if seconds is not None else None


def go_domains(uri: str, workdir: Path, scrapes: int) -> tuple[int, float | None]:
    """Domains the Go exporter reports on ``uri`` (it lists at most 512) and its p50."""
    with goexporter.go_exporter(workdir, uri, nova_metadata=True) as target:
        done = [scrape.scrape(target.url, timeout=120) for _ in range(scrapes)]
    ok = [s for s in done if s.status == 200]
    domains = scrape.parse(ok[-1].body).domains if ok else 0
    return domains, _ms(report.percentile([s.latency for s in ok], 50))


@contextlib.contextmanager
def simulator(uuids: list[str], without: int) -> Iterator[tuple[str, novasim.RequestClock]]:
    sim = novasim.start()
    try:
        novasim.register(sim, uuids[len(uuids) - without:], others=100)
        with novasim.RequestClock(sim) as clock:
            yield novasim.credentials(sim), clock
    finally:
        sim.stop()


def result_table(results: list[ModeResult], n: int) -> str:
    f = report.fmt
    rows = []
    for r in results:
        steady = (r.nova_steady / r.nova_steady_seconds * (r.interval or 60)
                  if r.nova_steady is not None and r.nova_steady_seconds else None)
        rows.append([
            r.mode, f(report.percentile(r.latencies, 50) * 1000),
            f(report.percentile(r.latencies, 95) * 1000),
            f(_ms(report.percentile(r.fresh, 50))), f(_ms(report.percentile(r.cached, 50))),
            f(r.rss_mib), f(r.hwm_mib), f"{r.domains}/{n}", str(r.series),
            f(r.series / n if n else None, 2), f(r.body_kib), f(r.wire_kib),
            f(r.collection_ms), f(r.unresolved), f(r.nova_first),
            f(r.nova_first_seconds), f(steady, 2)])
    return report.table(
        ("mode", "p50_ms", "p95_ms", "fresh_p50_ms", "cached_p50_ms", "RSS_MiB", "HWM_MiB",
         "domains", "series", "series/dom", "body_KiB", "gzip_KiB", "collect_ms",
         "unresolved", "nova_first", "first_s", "nova_steady/ivl"),
        rows, f"test driver, {n} domains")


def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="enr-bench-td-") as tmp:
        workdir = Path(tmp)
        targets.frozen_source(workdir)
        print(hostinfo.header(None, "test", "testdriver", vars(args)), flush=True)
        node = workdir / "node.xml"
        uuids = nodegen.write_node(node, args.domains, args.without_metadata)
        uri = "test://" + str(node)
        modes = [m.strip() for m in args.modes.split(",") if m.strip()]
        results = []
        for mode in modes:
            interval = args.interval if mode == "interval" else float(mode)
            label = f"interval={interval:g}"
            if args.without_metadata:
                with simulator(uuids, args.without_metadata) as (conf, clock):
                    results.append(run_mode(label, interval, uri, args, workdir, conf, clock))
            else:
                results.append(run_mode(label, interval, uri, args, workdir, "", None))
        print(result_table(results, args.domains))
        driver = test_driver_mib(uri)
        own = [r.rss_mib - driver for r in results if r.rss_mib and driver is not None]
        print(f"# libvirt's test driver holds {report.fmt(driver)} MiB of that RSS (the "
              f"node's domains, in the client's process; on a real node libvirtd holds "
              f"them): the enricher's own RSS {', '.join(report.fmt(x) for x in own)} MiB")
        if args.json:
            args.json.write_text(json.dumps({
                "args": {k: str(v) for k, v in vars(args).items()},
                "results": [dataclasses.asdict(r) for r in results],
                "test_driver_mib": driver}, indent=1))
        if args.with_go:
            seen, p50 = go_domains(uri, workdir, min(args.scrapes, 5))
            print(f"# go exporter on the same node: {seen}/{args.domains} domains, "
                  f"scrape p50 {report.fmt(p50)} ms")
    missing = [r.mode for r in results if r.domains != args.domains]
    if missing:
        print(f"FAIL: domains missing from the exposition in {', '.join(missing)}")
        return 1
    print(f"OK: all {args.domains} domains in every exposition")
    return 0
