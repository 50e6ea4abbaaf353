"""``bench fleet-prom``: one real Prometheus scraping N enrichers with the shipped rules.

Each enricher serves a libvirt test-driver node of M Nova-tagged domains
(distinct UUIDs per node, 50 projects) on 127.0.0.1; Prometheus scrapes them
all in the job "enricher", and itself, and evaluates the recording and
alerting rules at the scrape interval. After a warm-up the run measures, over
``--duration`` seconds: head series (all, the enricher's, the rules'), ingest
rate, rule group evaluation time, scrape time, and the RSS of Prometheus and
of the enrichers. Test-driver domains have no disks, NICs or vCPU figures:
per-VM series are a lower bound (doc/source/dashboards.rst scales them to
real guests).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

from tests.e2e.harness import procs
from tests.perf import hostinfo, nodegen, options, report, targets

ROOT = Path(__file__).resolve().parents[2]
RULES = (ROOT / "etc" / "enricher" / "recording-rules.yml",
         ROOT / "etc" / "enricher" / "alerting-rules.yml")
PROMETHEUS = "/usr/bin/prometheus"
BASE_UUID = "5eed0000-"

OPTIONS: options.Table = {
    "--nodes": (20, "enricher instances (compute nodes)"),
    "--vms": (50, "test-driver domains per node"),
    "--scrape-interval": (15.0, "Prometheus scrape and rule evaluation interval, seconds"),
    "--duration": (60.0, "seconds measured after the warm-up"),
    "--interval": (15.0, "[DEFAULT] interval of the enrichers"),
    "--tenant-labels": ("default", "[prometheus] tenant_labels of the enrichers "
                        "(comma-separated; 'none' for none, 'default' leaves it unset)"),
}

CONFIG = """\
global:
  scrape_interval: {interval}ms
  scrape_timeout: {timeout}ms
  evaluation_interval: {interval}ms
rule_files:
{rules}
scrape_configs:
  - job_name: enricher
    static_configs:
      - targets: [{targets}]
  - job_name: prometheus
    static_configs:
      - targets: ['127.0.0.1:{port}']
"""


class Api:
    """Instant queries against the Prometheus under test."""

    def __init__(self, port: int) -> None:
        self.url = "http://127.0.0.1:%d/api/v1/" % port

    def query(self, promql: str) -> list[dict[str, Any]]:
        status, body = procs.http_get(self.url + "query?" + urllib.parse.urlencode(
            {"query": promql}), timeout=30)
        if status != 200:
            raise RuntimeError("query %r -> %s: %s" % (promql, status, body[:300]))
        return list(json.loads(body)["data"]["result"])

    def value(self, promql: str) -> float | None:
        result = self.query(promql)
        return float(result[0]["value"][1]) if result else None


def rss_bytes(pid: int) -> int:
    """Resident set size of ``pid`` from /proc (0 if it is gone)."""
    try:
        for line in Path("/proc/%d/status" % pid).read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def write_nodes(workdir: Path, nodes: int, vms: int) -> list[Path]:
    """One test-driver node file per enricher, with UUIDs unique across the fleet."""
    paths = []
    for k in range(nodes):
        path = workdir / ("node-%03d.xml" % k)
        nodegen.write_node(path, vms)
        path.write_text(path.read_text().replace(BASE_UUID, "5eed%04x-" % k))
        paths.append(path)
    return paths


def measure(api: Api, prom_pid: int, enricher_pids: list[int], args: argparse.Namespace
            ) -> list[tuple[str, str]]:
    """Sample RSS every second for ``args.duration`` s, then read Prometheus's figures."""
    rss: list[int] = []
    deadline = time.monotonic() + args.duration
    while time.monotonic() < deadline:
        rss.append(rss_bytes(prom_pid))
        time.sleep(1.0)
    window = "%ds" % max(int(args.duration), int(4 * args.scrape_interval))
    vms = args.nodes * args.vms
    f = report.fmt
    enricher_series = api.value('sum(scrape_samples_scraped{job="enricher"})')
    per_vm = api.value('count({job="enricher", uuid!=""})')
    rule_series = api.value('count({__name__=~".+:.+:.+"})')
    groups = api.query("max by (rule_group) (max_over_time("
                       "prometheus_rule_group_last_duration_seconds[%s]))" % window)
    rows = [
        ("nodes", f(args.nodes)), ("vms", f(vms)),
        ("head_series", f(api.value("prometheus_tsdb_head_series"), 0)),
        ("enricher_series_per_scrape_round", f(enricher_series, 0)),
        ("series_per_vm", f(per_vm / vms if per_vm else None, 2)),
        ("series_per_node_without_vms",
         f((enricher_series - per_vm) / args.nodes if enricher_series and per_vm else None, 1)),
        ("recorded_series", f(rule_series, 0)),
        ("project_series", f(api.value('count({__name__=~"project:.+"})'), 0)),
        ("ingest_samples_per_s", f(api.value(
            "rate(prometheus_tsdb_head_samples_appended_total[%s])" % window), 0)),
        ("scrape_ms_avg", f(1000 * (api.value(
            'avg(avg_over_time(scrape_duration_seconds{job="enricher"}[%s]))' % window)
            or 0), 1)),
        ("scrape_ms_max", f(1000 * (api.value(
            'max(max_over_time(scrape_duration_seconds{job="enricher"}[%s]))' % window)
            or 0), 1)),
    ]
    for group in sorted(groups, key=lambda g: g["metric"]["rule_group"]):
        name = group["metric"]["rule_group"].rsplit(";", 1)[-1]
        rows.append(("rule_eval_ms_max_" + name, f(1000 * float(group["value"][1]), 2)))
    rows += [
        ("rule_eval_ms_all_groups", f(1000 * (api.value(
            "sum(max_over_time(prometheus_rule_group_last_duration_seconds[%s]))" % window)
            or 0), 2)),
        ("prometheus_rss_mib_max", f(max(rss) / 2**20 if rss else None, 0)),
        ("prometheus_rss_mib_last", f(rss[-1] / 2**20 if rss else None, 0)),
        ("enrichers_rss_mib_sum", f(sum(rss_bytes(p) for p in enricher_pids) / 2**20, 0)),
    ]
    return rows


def run(args: argparse.Namespace) -> int:
    print(hostinfo.header(None, "test", "fleet-prom", vars(args)), flush=True)
    print("# load average at start: %s" % Path("/proc/loadavg").read_text().strip())
    with tempfile.TemporaryDirectory(prefix="enr-bench-fleetprom-") as tmp, \
            contextlib.ExitStack() as stack:
        workdir = Path(tmp)
        started = time.monotonic()
        labels = {"default": "", "none": "tenant_labels =\n"}.get(
            args.tenant_labels, "tenant_labels = %s\n" % args.tenant_labels)
        enrichers = [stack.enter_context(targets.enricher(
            workdir / ("enricher-%03d" % k), "test://" + str(node), args.interval,
            extra_conf="[prometheus]\n" + labels if labels else ""))
            for k, node in enumerate(write_nodes(workdir, args.nodes, args.vms))]
        print("# %d enrichers serving after %.1f s" % (len(enrichers),
                                                       time.monotonic() - started))
        port = procs.free_port()
        config = workdir / "prometheus.yml"
        config.write_text(CONFIG.format(
            interval=int(1000 * args.scrape_interval),
            timeout=int(1000 * min(10.0, args.scrape_interval)), port=port,
            rules="".join("  - %s\n" % r for r in RULES),
            targets=", ".join("'%s'" % urllib.parse.urlsplit(e.url).netloc
                              for e in enrichers)))
        argv = [PROMETHEUS, "--config.file=%s" % config,
                "--storage.tsdb.path=%s" % (workdir / "data"),
                "--web.listen-address=127.0.0.1:%d" % port]
        prom = stack.enter_context(targets.run_process(
            "prometheus", argv, "http://127.0.0.1:%d/-/ready" % port,
            workdir / "prometheus.log"))
        api = Api(port)
        procs.wait_until(lambda: api.value('count(up{job="enricher"} == 1)') == args.nodes,
                         max(60.0, 4 * args.scrape_interval), what="every enricher scraped",
                         interval=1.0, details=prom.log_tail)
        # Test-driver domains have state and tenancy only: the rules over those.
        procs.wait_until(lambda: api.value("count(project:libvirt_domain_info_state:count)"),
                         max(60.0, 6 * args.scrape_interval), what="per-project rules",
                         interval=1.0, details=prom.log_tail)
        time.sleep(2 * args.scrape_interval)  # two more evaluations of every group
        rows = measure(api, prom.pid, [e.pid for e in enrichers], args)
    print("# load average at end: %s" % Path("/proc/loadavg").read_text().strip())
    print(report.table(("quantity", "value"), [list(r) for r in rows],
                       "fleet-prom: %d nodes x %d VMs, scrape and rules every %gs, "
                       "measured over %gs" % (args.nodes, args.vms, args.scrape_interval,
                                               args.duration)))
    return 0
