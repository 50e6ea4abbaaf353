"""Benchmark command: ``python -m tests.perf.bench {real,testdriver,fleet,http,soak} ...``.

real        the enricher vs Debian's prometheus-libvirt-exporter on the real
            libvirtd with N tiny idle guests: whole-host CPU, latency, size
testdriver  the enricher on a libvirt test-driver node of N domains: latency,
            RSS, completeness, Nova requests with the Keystone+Nova simulator
fleet       the fleet model: series, bytes, samples/s and Nova requests/min
http        /metrics latency under 1 and N concurrent scrapers, and SYN drops
calls       libvirt calls per collection by naming profile (test driver)
statsd      the CPU of one StatsD send at N domains, per tag format
soak        N scrapers for minutes on 1000 domains: p50/p99, RSS and threads over time
api         memory and render time of the REST API's history at N domains
snmp        whole-host CPU with [snmp] on and a walk a minute, beside SNMP off
fleet-prom  one real Prometheus scraping N test-driver enrichers with the shipped rules
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence

from tests.perf import (
    api_memory,
    calls,
    fleet,
    fleet_prom,
    http_load,
    options,
    real,
    snmp_cost,
    soak,
    statsd_cost,
    testdriver,
)


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m tests.perf.bench",
                                  description=__doc__.split("\n\n", 1)[0])
    top.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = top.add_subparsers(dest="mode", required=True)
    for name, module in (("real", real), ("testdriver", testdriver), ("fleet", fleet),
                         ("http", http_load), ("calls", calls), ("statsd", statsd_cost),
                         ("soak", soak), ("api", api_memory), ("snmp", snmp_cost),
                         ("fleet-prom", fleet_prom)):
        mode = sub.add_parser(name, help=(module.__doc__ or "").splitlines()[0],
                              formatter_class=options.FORMATTER)
        options.add(mode, module.OPTIONS)
        mode.set_defaults(func=module.run)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # SIGTERM unwinds like Ctrl-C, so guests, taps and exporters are cleaned up.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted; cleaned up", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
