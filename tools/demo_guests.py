#!/usr/bin/env python3
"""The demo with real guests: ``tools/demo.sh --guests N`` runs this.

A private libvirtd (its own mount namespace and state, see
tests/e2e/harness/private_libvirtd.py) runs N tiny QEMU guests (KVM where
/dev/kvm works, TCG otherwise) carrying Nova metadata of two projects; the
enricher serves them and a real Prometheus scrapes it every second with the
shipped recording rules. Prints a per-project CPU, disk and network table
from PromQL once every project has non-zero figures, then serves until
Ctrl-C (or exits with --check). Everything is removed on exit.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import signal
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import FrameType

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.e2e.harness import (  # noqa: E402
    domains,
    enricher_proc,
    libvirtd,
    private_libvirtd,
    procs,
    prometheus,
)

PREFIX = "enr-demo-"
PROJECTS = ("webshop", "analytics")
TAP_PREFIX = "edm"
RULES = REPO / "etc" / "enricher" / "recording-rules.yml"
BY_PROJECT = "sum by (project_name) (%s)"
QUERIES = {
    "CPU (cores)": BY_PROJECT % "domain:libvirt_domain_cpu_time_seconds:irate1m",
    "disk bytes": BY_PROJECT % "libvirt_domain_block_read_bytes_total"
                  + " + " + BY_PROJECT % "libvirt_domain_block_write_bytes_total",
    "network bytes": BY_PROJECT % "libvirt_domain_net_receive_bytes_total"
                     + " + " + BY_PROJECT % "libvirt_domain_net_transmit_bytes_total",
}
TIMEOUT = 180.0


def specs(count: int, workdir: Path, run_id: str) -> list[domains.E2EDomain]:
    """``count`` guests spread over PROJECTS (the first project gets the extra ones)."""
    projects = {name: uuid.uuid4().hex for name in PROJECTS}
    out = []
    for index in range(count):
        project = PROJECTS[0] if index < count - count // 2 else PROJECTS[1]
        spec = domains.make_spec(run_id, "abcdefghijklmnopqrstuvwxyz"[index], "1.1", workdir,
                                 prefix=PREFIX)
        # Taps named apart from the e2e harness's, whose leftover sweep on the
        # shared libvirtd would take these for strays (same network namespace).
        out.append(dataclasses.replace(spec, project_name=project, project_id=projects[project],
                                       user_name="demo-user", flavor="m1.tiny",
                                       tap=TAP_PREFIX + spec.tap[len("enr"):]))
    return out


@contextmanager
def private_daemon() -> Iterator[private_libvirtd.PrivateLibvirtd]:
    root = Path(tempfile.mkdtemp(prefix=PREFIX + "libvirtd-"))
    daemon = private_libvirtd.own_state(root)
    try:
        daemon.start()
        yield daemon
    finally:
        daemon.stop()
        private_libvirtd.kill_guests(root / "run" / "qemu")
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def guests(daemon: private_libvirtd.PrivateLibvirtd, count: int
           ) -> Iterator[tuple[str, list[domains.E2EDomain]]]:
    """Boot the guests (a blank disk: SeaBIOS reads it, then iPXE tries DHCP on the NIC)."""
    conn = libvirtd.wait_for_connection(daemon.uri, 60)
    domain_type = libvirtd.detect_domain_type(conn)
    run_id = uuid.uuid4().hex[:6]
    workdir = domains.make_workdir(run_id, PREFIX)
    booted = specs(count, workdir, run_id)
    try:
        for spec in booted:
            domains.boot(conn, spec, domain_type)
        yield domain_type, booted
    finally:
        try:
            domains.remove_specs(conn, booted)
        finally:
            conn.close()
            shutil.rmtree(workdir, ignore_errors=True)


def table(server: prometheus.PrometheusServer) -> list[tuple[str, list[float]]] | None:
    """Rows (project, figures) once every project has every figure above zero."""
    values: dict[str, list[float]] = {p: [] for p in PROJECTS}
    for query in QUERIES.values():
        result = {r["metric"].get("project_name"): float(r["value"][1])
                  for r in server.query(query)}
        for project in PROJECTS:
            values[project].append(result.get(project, 0.0))
    if all(v > 0 for row in values.values() for v in row):
        return list(values.items())
    return None


def render(rows: list[tuple[str, list[float]]]) -> str:
    headers = ["project", *QUERIES]
    cells = [[p, "%.4f" % v[0], "%d" % v[1], "%d" % v[2]] for p, v in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w)
                       for i, (h, w) in enumerate(zip(headers, widths, strict=True)))]
    lines += ["  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                        for i, (c, w) in enumerate(zip(row, widths, strict=True)))
              for row in cells]
    return "\n".join(lines)


def _stop(signum: int, _frame: FrameType | None) -> None:
    """Ctrl-C or SIGTERM: unwind (removing everything), deaf to further signals."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The enricher with real guests.")
    parser.add_argument("--guests", type=int, default=3, help="how many guests (2-26)")
    parser.add_argument("--check", action="store_true", help="print the table and exit")
    args = parser.parse_args(argv)
    if not 2 <= args.guests <= 26:
        parser.error("--guests must be between 2 and 26")
    why_not = private_libvirtd.unsupported() or libvirtd.missing_prerequisite()
    if why_not:
        print("demo: cannot run a private libvirtd: %s" % why_not, file=sys.stderr)
        return 2
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    libvirtd.silence_error_handler()
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=PREFIX)))
        daemon = stack.enter_context(private_daemon())
        domain_type, booted = stack.enter_context(guests(daemon, args.guests))
        enricher = stack.enter_context(enricher_proc.launch_enricher(
            work / "enricher", daemon.uri,
            {"DEFAULT": {"interval": 1},
             "libvirt": {"qemu_pid_dir": daemon.root / "run" / "qemu"}}))
        server = stack.enter_context(prometheus.launch_prometheus(
            work / "prometheus", enricher.target, rules=RULES))
        print("== %d %s guests on a private libvirtd: %s ==" % (
            len(booted), "KVM" if domain_type == "kvm" else "TCG (no usable /dev/kvm)",
            ", ".join("%s (%s)" % (g.name, g.project_name) for g in booted)))
        rows = procs.wait_until(lambda: table(server), TIMEOUT, interval=1.0,
                                what="non-zero CPU, disk and network for every project",
                                details=enricher.log_tail)
        print("== per project, from Prometheus (%s) ==" % server.url)
        print(render(rows))
        if args.check:
            return 0
        print("== enricher: %s, Prometheus: %s; Ctrl-C to stop ==" % (
            enricher.metrics_url, server.url))
        while True:
            signal.pause()
    return 0


if __name__ == "__main__":
    sys.exit(main())
