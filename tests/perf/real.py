"""``bench real``: the enricher vs the Go exporter on real libvirtd + N idle guests."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import libvirt

from tests.e2e.harness import domains, libvirtd
from tests.perf import (
    goexporter,
    groups,
    hostinfo,
    options,
    privatelibvirt,
    profile,
    scrape,
    statsd_sink,
    summary,
    targets,
    vms,
    windows,
)
from tests.perf.windows import (
    API_CONDITIONS,
    ENRICHER,
    ENRICHER_BASELINE,
    ENRICHER_INOVEX,
    ENRICHER_LIBVIRT_CPU,
    ENRICHER_STATSD,
    GO,
    IDLE,
    Window,
    WindowConfig,
    exporter_window,
    idle_window,
)

LOG = logging.getLogger(__name__)


OPTIONS: options.Table = {
    "--vms": (40, "guests to boot"),
    "--window": (60.0, "seconds per measurement window"),
    "--rounds": (3, "rounds of alternating windows (0: one idle window, then only the "
                    "per-group costs)"),
    "--scrapers": ("1,2", "comma-separated scraper counts to run"),
    "--interval": (15.0, "the enricher's [DEFAULT] interval (0: at scrape)"),
    "--scrape-interval": (15.0, "seconds between scrapes of one scraper"),
    "--stats-groups": (str, "the enricher's [libvirt] stats_groups (None: its default)"),
    "--slow-stats-groups": (str, "the enricher's [libvirt] slow_stats_groups (None: its "
                                 "default)"),
    "--ab-api": (False, "also run the enricher with [api] enabled = false and with "
                        "[api] history_interval = 1 (vAdvisor's 1 s history)"),
    "--ab-host-cpu": (False, "also run the enricher with [libvirt] cpu_time_from_cgroup and "
                             "vcpu_times_from_proc = false in every round (condition "
                             "enricher-libvirt-cpu)"),
    "--ab-inovex": (False, "also run the enricher with [prometheus] metric_names = inovex "
                           "in every round (condition enricher-inovex)"),
    "--ab-statsd": (False, "also run the enricher with [statsd] enabled, sending to a "
                           "local UDP sink every interval, in every round (condition "
                           "enricher-statsd)"),
    "--statsd-tag-format": (("dogstatsd", "influxdb", "none"), "[statsd] tag_format of "
                                                                "--ab-statsd"),
    "--baseline-source": (Path, "also run the enricher of this checkout (e.g. a git worktree "
                                "of the previous release) in every round (condition "
                                "enricher-baseline)"),
    "--no-go-nova-metadata": (False, "run the Go exporter without "
                                     "--libvirt.export-nova-metadata"),
    "--group-calls": (5, "bulk calls per stats group and pass; 0 skips"),
    "--group-reps": (3, "interleaved passes over the stats groups"),
    "--profile-seconds": (0.0, "py-spy the enricher this long after the rounds (0: off)"),
    "--profile-interval": (2.0, "interval and scrape interval while profiling"),
    "--settle": (1.0, "seconds between an exporter's warm-up scrape and its window"),
    "--idle-per-vm": (0.03, "mean cores per guest below which guests count as idle"),
    "--libvirtd": (("private", "shared"), "private: our own libvirtd in a mount namespace, "
                                          "untouched by other test runs; shared: reuse --uri"),
    "--uri": (libvirtd.URI, "libvirt URI with --libvirtd shared"),
    "--json": (Path, "write every window and summary here"),
}


@dataclasses.dataclass
class Plan:
    """The windows of one round, in order; odd rounds run them reversed."""

    scrapers: tuple[int, ...]
    conditions: tuple[str, ...] = (ENRICHER, GO)

    def round(self, index: int) -> list[tuple[str, int]]:
        order = [(IDLE, 0)] + [(c, s) for s in self.scrapers for c in self.conditions]
        return order if index % 2 == 0 else order[::-1]


def _foreign(conn: libvirt.virConnect, ours: set[str]) -> int:
    active = conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)
    return sum(1 for d in active if d.UUIDString() not in ours)


def run_rounds(args: argparse.Namespace, bench: vms.BenchVMs, config: WindowConfig,
               conn: libvirt.virConnect) -> list[Window]:
    conditions = (ENRICHER, *((ENRICHER_LIBVIRT_CPU,) if args.ab_host_cpu else ()),
                  *((ENRICHER_BASELINE,) if args.baseline_source else ()),
                  *((ENRICHER_INOVEX,) if args.ab_inovex else ()),
                  *((ENRICHER_STATSD,) if args.ab_statsd else ()),
                  *(API_CONDITIONS if args.ab_api else ()), GO)
    plan = Plan(tuple(int(s) for s in args.scrapers.split(",")), conditions)
    ours = {s.uuid for s in bench.specs}
    done = []
    for index in range(args.rounds):
        for condition, scrapers in plan.round(index):
            LOG.info("round %d: %s x%d", index + 1, condition, scrapers)
            if condition == IDLE:
                window = idle_window(index, config, bench.qemu_pids)
                window.foreign_domains = _foreign(conn, ours)
            else:
                window = exporter_window(index, condition, scrapers, config, bench.qemu_pids,
                                         lambda: _foreign(conn, ours))
            done.append(window)
            print(f"# round {index + 1} {condition} x{scrapers}: "
                  + " ".join(f"{k}={v:.2f}s" for k, v in window.cpu.items())
                  + f" in {window.seconds:.1f}s", flush=True)
    return done


def run_profile(args: argparse.Namespace, config: WindowConfig) -> str:
    """py-spy the enricher while it collects and is scraped every profile_interval."""
    out = config.workdir / "enricher.pyspy.raw"
    with targets.enricher(config.workdir, config.uri, args.profile_interval,
                          config.stats_groups) as target:
        scrape.scrape(target.url)
        spy = profile.start(target.pid, args.profile_seconds, out)
        scrape.run_schedule(target.url, args.profile_seconds, args.profile_interval, 1)
        _, err = spy.communicate(timeout=args.profile_seconds + 60)
    if spy.returncode != 0 or not out.exists():
        return f"py-spy failed: {err.decode(errors='replace')[-500:]}"
    prof = profile.summarize(out.read_text().splitlines())
    return profile.table(prof, args.profile_seconds, 250,
                         title=f"enricher py-spy, interval {args.profile_interval:g}s")


def _libvirt(args: argparse.Namespace, stack: contextlib.ExitStack
             ) -> tuple[str, str, Callable[[], Iterable[int]], Path]:
    """(uri, domain type, daemon pids, QEMU pid dir) of a private or the shared libvirtd."""
    if args.libvirtd == "private":
        daemon = stack.enter_context(privatelibvirt.running())
        return daemon.uri, daemon.domain_type, daemon.daemon_pids, daemon.qemu_pid_dir
    host = libvirtd.start_libvirt(args.uri)
    stack.callback(libvirtd.stop_libvirt, host)
    return host.uri, host.domain_type, windows.daemon_pids, vms.QEMU_PID_DIR


def _print_tables(args: argparse.Namespace, result: list[Window]) -> list[summary.Row]:
    rows = summary.rows(result, args.vms)
    title = (f"medians over {args.rounds} rounds, {args.vms} guests, window "
             f"{args.window:g}s, scrape every {args.scrape_interval:g}s, enricher "
             f"interval {args.interval:g}s; CPU-seconds per minute net of idle")
    print()
    print(summary.baseline_table(result, args.vms, "idle baseline"))
    print()
    print(summary.cpu_table(rows, title))
    print()
    print(summary.ratio_table(rows, "ratios enricher/go (whole-host CPU per minute)"))
    return rows


def run(args: argparse.Namespace) -> int:
    goexporter.ensure_installed()
    libvirtd.silence_error_handler()
    workdir = Path(tempfile.mkdtemp(prefix="enr-bench-work-"))
    try:
        with contextlib.ExitStack() as stack:
            uri, domain_type, daemons, pid_dir = _libvirt(args, stack)
            conn = libvirtd.wait_for_connection(uri, 60)
            stack.callback(conn.close)
            if args.libvirtd == "shared":
                domains.cleanup_leftovers(conn, vms.NAME_PREFIX)
            bench = vms.BenchVMs(conn, domain_type, pid_dir)
            stack.callback(bench.cleanup)
            targets.frozen_source(workdir)  # the code every window runs, from now on
            print(hostinfo.header(conn, domain_type, "real", vars(args)), flush=True)
            bench.boot(args.vms)
            rate = bench.wait_idle(args.idle_per_vm)
            print(f"# {args.vms} guests idle at {rate * 100:.2f}% of a core each", flush=True)
            groups_arg = tuple(args.stats_groups.split(",")) if args.stats_groups else None
            config = WindowConfig(uri, args.window, args.scrape_interval, args.interval,
                                  workdir, groups_arg, not args.no_go_nova_metadata,
                                  args.settle, daemons,
                                  f"[libvirt]\nqemu_pid_dir = {pid_dir}\n"
                                  + (f"slow_stats_groups = {args.slow_stats_groups}\n"
                                     if args.slow_stats_groups else ""),
                                  args.baseline_source)
            if args.ab_statsd:
                sink = stack.enter_context(statsd_sink.StatsdSink())
                config = dataclasses.replace(config,
                                             statsd_conf=sink.config(args.statsd_tag_format))
            started = time.monotonic()
            rows: list[summary.Row] = []
            if args.rounds > 0:
                result = run_rounds(args, bench, config, conn)
                rows = _print_tables(args, result)
                print(f"# rounds took {time.monotonic() - started:.0f}s", flush=True)
                if args.ab_statsd:
                    print(f"# statsd sink got {sink.datagrams} datagrams, {sink.lines} "
                          f"lines, {sink.bytes / 1024:.0f} KiB", flush=True)
            else:  # only the per-group costs: they need an idle baseline
                result = [idle_window(0, config, bench.qemu_pids)]
            costs = []
            if args.group_calls > 0:
                costs = groups.measure(conn, bench.virdomains(), daemons, bench.qemu_pids,
                                       summary.baseline(result), args.group_calls,
                                       args.group_reps, pid_dir)
                print()
                print(groups.table(costs, args.vms,
                                   "bulk stats call per group, medians per call, net of idle"))
            if args.profile_seconds > 0:
                print()
                print(run_profile(args, config), flush=True)
            if args.json:
                args.json.write_text(json.dumps({
                    "args": {k: str(v) for k, v in vars(args).items()},
                    "windows": [dataclasses.asdict(w) for w in result],
                    "rows": [dataclasses.asdict(r) for r in rows],
                    "groups": [dataclasses.asdict(c) for c in costs]}, indent=1))
    except BaseException:
        print(f"# exporter configs and logs kept in {workdir}", file=sys.stderr)
        raise
    shutil.rmtree(workdir, ignore_errors=True)
    return 0
