"""``bench snmp``: whole-host CPU with [snmp] on and a walk a minute, beside SNMP off.

N tiny idle guests on the real libvirtd. Windows alternate (reversed every
other round): "off", the enricher alone; "on", the enricher with ``[snmp]
enabled`` registered with an snmpd started for the window, and one
``snmpwalk`` of the whole ENRICHER-MIB every ``--walk-every`` seconds.
Both are scraped on /metrics every ``--scrape-interval``. Reported: whole-host
busy CPU-seconds per minute (/proc/stat), the enricher's and snmpd's own.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests import snmp
from tests.e2e.harness import domains, libvirtd
from tests.perf import cpu, hostinfo, options, scrape, targets, vms

OPTIONS: options.Table = {
    "--vms": (10, "guests to boot"),
    "--window": (120.0, "seconds per measurement window"),
    "--rounds": (2, "rounds of the two windows"),
    "--interval": (15.0, "the enricher's [DEFAULT] interval"),
    "--scrape-interval": (15.0, "seconds between /metrics scrapes, in both windows"),
    "--walk-every": (60.0, "seconds between walks of ENRICHER-MIB in the on window"),
    "--uri": (libvirtd.URI, "libvirt URI of the (shared) libvirtd"),
    "--json": (Path, "write every window here"),
}
OFF, ON = "snmp-off", "snmp-on"


def host_busy_seconds() -> float:
    """Busy CPU time of the whole host (all but idle and iowait), in seconds."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / cpu.CLK_TCK


@contextlib.contextmanager
def _snmpd(workdir: Path, on: bool) -> Iterator[snmp.Snmpd | None]:
    if not on:
        yield None
        return
    daemon = snmp.start_snmpd(workdir)
    try:
        yield daemon
    finally:
        daemon.stop()
        daemon.socket.unlink(missing_ok=True)


def window(condition: str, args: argparse.Namespace, workdir: Path) -> dict[str, float]:
    on = condition == ON
    with _snmpd(workdir, on) as daemon:
        extra = ("[snmp]\nenabled = true\nagentx_address = %s\n" % daemon.socket
                 if daemon is not None else "")
        with targets.enricher(workdir / condition, args.uri, args.interval,
                              extra_conf=extra) as target:
            scrape.scrape(target.url)
            if daemon is not None:
                snmp.wait_registered(daemon.port, timeout=60)
            time.sleep(2.0)
            pids = [target.pid] + ([daemon.proc.pid] if daemon is not None else [])
            before = [cpu.cpu_seconds(p) or 0.0 for p in pids]
            host0, started = host_busy_seconds(), time.monotonic()
            next_scrape = next_walk = started
            walks, walk_seconds, instances = 0, 0.0, 0
            while (now := time.monotonic()) < started + args.window:
                if now >= next_scrape:
                    scrape.scrape(target.url)
                    next_scrape += args.scrape_interval
                if daemon is not None and now >= next_walk:
                    t = time.monotonic()
                    out = snmp.tool("snmpwalk", daemon.port, ["-On", ".1.3.6.1.4.1.32473.1"],
                                    mib=False)
                    walk_seconds += time.monotonic() - t
                    instances = out.count("\n")
                    walks += 1
                    next_walk += args.walk_every
                time.sleep(max(0.0, min(next_scrape, next_walk if daemon else next_scrape)
                               - time.monotonic()))
            seconds = time.monotonic() - started
            host = host_busy_seconds() - host0
            after = [cpu.cpu_seconds(p) or 0.0 for p in pids]
    per_min = 60.0 / seconds
    result = {"host": host * per_min, "enricher": (after[0] - before[0]) * per_min,
              "snmpd": ((after[1] - before[1]) * per_min) if on else 0.0,
              "walks": walks, "walk_seconds": walk_seconds / max(walks, 1),
              "instances": instances, "seconds": seconds}
    print("# %s: " % condition + " ".join("%s=%.3f" % kv for kv in result.items()),
          flush=True)
    return result


def run(args: argparse.Namespace) -> int:
    libvirtd.silence_error_handler()
    host = libvirtd.start_libvirt(args.uri)
    workdir = Path(tempfile.mkdtemp(prefix="enr-bench-snmp-"))
    results: dict[str, list[dict[str, float]]] = {OFF: [], ON: []}
    try:
        conn = libvirtd.wait_for_connection(host.uri, 60)
        domains.cleanup_leftovers(conn, vms.NAME_PREFIX)
        bench = vms.BenchVMs(conn, host.domain_type)
        try:
            print(hostinfo.header(conn, host.domain_type, "snmp", vars(args)), flush=True)
            bench.boot(args.vms)
            bench.wait_idle()
            targets.frozen_source(workdir)
            for index in range(args.rounds):
                order = (OFF, ON) if index % 2 == 0 else (ON, OFF)
                for condition in order:
                    results[condition].append(window(condition, args, workdir))
        finally:
            bench.cleanup()
            conn.close()
    finally:
        libvirtd.stop_libvirt(host)
        subprocess.run(["rm", "-rf", str(workdir)], check=False)
    print()
    print("medians over %d rounds, %d guests, window %gs, interval %gs, one walk every "
          "%gs (CPU-seconds per minute)" % (args.rounds, args.vms, args.window,
                                            args.interval, args.walk_every))
    print("| condition | whole host | enricher | snmpd | walk (s) | instances |")
    print("|---|---|---|---|---|---|")
    for condition, rows in results.items():
        med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
        print("| %s | %.3f | %.3f | %.3f | %.2f | %d |" % (
            condition, med["host"], med["enricher"], med["snmpd"], med["walk_seconds"],
            med["instances"]))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0
