"""``bench fleet``: series, bytes, samples/s and Nova requests for a whole fleet.

Per-VM figures come from a real run's JSON (``real --json``) or, failing
that, from a test-driver scrape (state only: a lower bound). The Nova figure
is backed by simulating K nodes, each with its own enricher tenancy stack,
against one Keystone+Nova simulator.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import tempfile
import warnings
from pathlib import Path

from oslo_config import cfg

from enricher.backoff import Backoff
from enricher.cmd import nova as nova_cmd
from enricher.conf import opts
from enricher.health import ErrorCounts
from enricher.libvirt.connection import Connection
from enricher.libvirt.stats import StatsReader
from enricher.sampler import Sampler
from enricher.tenancy.fallback import NovaFallback
from enricher.tenancy.resolver import Resolver
from tests.perf import hostinfo, nodegen, novasim, options, report, scrape, targets

BASE_UUID = "5eed0000-"


OPTIONS: options.Table = {
    "--nodes": (10000, "compute nodes"),
    "--vms": (100, "VMs per node"),
    "--scrape-interval": (15.0, "seconds between two scrapes of a node"),
    "--from-results": (Path, "JSON of a 'real --json' run: per-VM series and bytes"),
    "--simulate-nodes": (20, "nodes simulated against one Nova simulator (0: skip)"),
    "--without-metadata": (10, "metadata-less VMs per simulated node"),
    "--refresh-min-interval": (60.0, "[nova] refresh_min_interval of the model"),
    "--negative-ttl": (600.0, "[nova] negative_cache_ttl of the model"),
}


@dataclasses.dataclass
class PerVm:
    """Exposition cost per VM and the per-node constant part."""

    source: str
    series: float
    body_bytes: float
    wire_bytes: float
    node_series: float = 0.0


def per_vm_from_results(path: Path) -> PerVm:
    data = json.loads(path.read_text())
    vms = int(data["args"]["vms"])
    row = next(r for r in data["rows"] if r["condition"] == "enricher")
    return PerVm(f"real run {path.name} ({vms} guests, 1 disk + 1 NIC each)",
                 row["series"] / vms, row["body_kib"] * 1024 / vms,
                 row["wire_kib"] * 1024 / vms)


def per_vm_from_testdriver(vms: int, workdir: Path) -> PerVm:
    """Scrape the enricher on a test-driver node: two sizes give per-VM and constant."""
    sizes = {}
    for n in (vms, 2 * vms):
        node = workdir / f"node-{n}.xml"
        nodegen.write_node(node, n)
        with targets.enricher(workdir, "test://" + str(node), 0) as target:
            body = scrape.scrape(target.url).body
        sizes[n] = (scrape.parse(body).series, len(body), len(gzip.compress(body, 1)))
    (s1, b1, w1), (s2, b2, w2) = sizes[vms], sizes[2 * vms]
    return PerVm("test driver (state group only: a lower bound)", (s2 - s1) / vms,
                 (b2 - b1) / vms, (w2 - w1) / vms, s1 - vms * (s2 - s1) / vms)


def _conf(cred_file: Path) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    opts.register_opts(conf)
    conf([], project="enricher", default_config_files=[str(cred_file)],
         default_config_dirs=[])
    return conf


@dataclasses.dataclass
class NovaSim:
    nodes: int
    first: list[int]
    refresh: list[int]
    steady: int
    resolved: int
    expected: int


def simulate_nova(nodes: int, vms: int, without: int, workdir: Path) -> NovaSim:
    """K nodes: first look-up, one forced refresh, then 3 steady collections each."""
    warnings.simplefilter("ignore", DeprecationWarning)
    sim = novasim.start()
    first, refresh, steady, resolved = [], [], 0, 0
    try:
        stacks = []
        for k in range(nodes):
            node = workdir / f"sim-node-{k}.xml"
            uuids = nodegen.write_node(node, vms, without)
            prefix = f"5eed{k:04x}-"
            node.write_text(node.read_text().replace(BASE_UUID, prefix))
            uuids = [u.replace(BASE_UUID, prefix) for u in uuids]
            host = f"bench-node-{k}"
            novasim.register(sim, uuids[vms - without:], host=host)
            cred = workdir / f"cred-{k}.conf"
            cred.write_text(novasim.credentials(sim, host=host))
            conf = _conf(cred)
            errors = ErrorCounts()
            fallback = NovaFallback(nova_cmd.source(conf, host), errors,
                                    cache_ttl=3600, negative_ttl=600,
                                    refresh_min_interval=0, backoff=Backoff(1.0, 2.0),
                                    background=False)
            sampler = Sampler(Connection("test://" + str(node)), StatsReader(),
                              Resolver(errors, fallback=fallback), errors)
            stacks.append((sampler, fallback, uuids[vms - 1]))
        for sampler, fallback, last in stacks:
            sampler.collect()
            before = sim.count()
            fallback.refresh()
            first.append(sim.count() - before)
            fallback.forget(last)
            sampler.collect()
            before = sim.count()
            fallback.refresh()
            refresh.append(sim.count() - before)
        before = sim.count()
        for _ in range(3):
            for sampler, _fallback, _last in stacks:
                snap = sampler.collect()
        steady = sim.count() - before
        resolved = sum(sum(1 for s in sampler.snapshot.samples
                           if sampler.snapshot.tenancy_of(s.uuid).project_id)
                       for sampler, _f, _l in stacks)
        del snap
    finally:
        sim.stop()
    return NovaSim(nodes, first, refresh, steady, resolved, nodes * vms)


def model_table(args: argparse.Namespace, per_vm: PerVm, nova: NovaSim | None) -> str:
    f = report.fmt
    node_series = args.vms * per_vm.series + per_vm.node_series
    fleet_series = args.nodes * node_series
    refresh_req = report.median(nova.refresh) if nova else None
    first_req = report.median(nova.first) if nova else None
    rows = [
        ("series per VM", f(per_vm.series, 1)),
        ("series per node", f(node_series, 0)),
        ("bytes per scrape per node (text)", f(args.vms * per_vm.body_bytes, 0)),
        ("bytes per scrape per node (gzip)", f(args.vms * per_vm.wire_bytes, 0)),
        ("active series, fleet", f(fleet_series, 0)),
        ("samples/s, fleet", f(fleet_series / args.scrape_interval, 0)),
        ("scrape MB/s, fleet (gzip)",
         f(args.nodes * args.vms * per_vm.wire_bytes / args.scrape_interval / 1e6, 1)),
        ("nova requests per first look-up (per node)", f(first_req)),
        ("nova requests per refresh (warm token)", f(refresh_req)),
        ("nova requests in 3 steady collections of every simulated node (measured)",
         f(nova.steady if nova else None)),
        ("nova requests/min, worst churn (every node, every refresh_min_interval)",
         f(args.nodes * refresh_req * 60 / args.refresh_min_interval if nova else None, 0)),
        ("nova requests/min, non-Nova domains on every node (negative TTL)",
         f(args.nodes * refresh_req * 60 / args.negative_ttl if nova else None, 0)),
    ]
    return report.table(("quantity", "value"), [[k.replace(" ", "_"), v] for k, v in rows],
                        f"fleet model: {args.nodes} nodes x {args.vms} VMs, scrape every "
                        f"{args.scrape_interval:g}s; per VM from {per_vm.source}")


def run(args: argparse.Namespace) -> int:
    print(hostinfo.header(None, "test", "fleet", vars(args)), flush=True)
    with tempfile.TemporaryDirectory(prefix="enr-bench-fleet-") as tmp:
        workdir = Path(tmp)
        per_vm = (per_vm_from_results(args.from_results) if args.from_results
                  else per_vm_from_testdriver(args.vms, workdir))
        nova = (simulate_nova(args.simulate_nodes, args.vms, args.without_metadata, workdir)
                if args.simulate_nodes > 0 else None)
    if nova:
        print(f"# simulated {nova.nodes} nodes x {args.vms} VMs ({args.without_metadata} "
              f"without metadata each) against one simulator: first look-up "
              f"{report.median(nova.first)} requests/node, forced refresh "
              f"{report.median(nova.refresh)}, then {nova.steady} requests in 3 steady "
              f"collections of every node; {nova.resolved}/{nova.expected} domains resolved")
    print(model_table(args, per_vm, nova))
    return 0 if nova is None or (nova.steady == 0 and nova.resolved == nova.expected) else 1
