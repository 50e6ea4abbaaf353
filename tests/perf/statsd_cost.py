"""``bench statsd``: the CPU one StatsD send costs at N domains of realistic stats.

In process, no libvirt: a snapshot of N domains with the fields a QEMU guest
gives (state, cpu, balloon, 2 vCPUs, a disk, a NIC) and full tenancy, sent
in each tag format to a local UDP sink; beside it, the per-snapshot render
of the same domains for /metrics, which the enricher does anyway.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import time
from types import MappingProxyType

from enricher.exporters import extra_metrics, prometheus, text
from enricher.exporters.statsd import packing, selection
from enricher.exporters.statsd.lines import Formatter, Layout
from enricher.exporters.statsd.sender import UdpSender
from enricher.libvirt.stats import sample_from_record
from enricher.sampler import Snapshot
from enricher.tenancy import model
from tests import fakes
from tests.perf import hostinfo, options, report, statsd_sink

OPTIONS: options.Table = {
    "--domains": (1000, "domains in the snapshot"),
    "--sends": (20, "timed sends per tag format"),
    "--interval": (15.0, "[statsd] interval, to express the cost per minute"),
    "--max-datagram-bytes": (1432, "[statsd] max_datagram_bytes"),
}
TENANT_LABELS = model.DEFAULT_TENANT_LABELS
DEFAULT = selection.DEFAULT_METRICS


def _raw(index: int, step: int) -> dict[str, object]:
    raw: dict[str, object] = {"state.state": 1, "state.reason": 1,
                              "cpu.time": 10**9 * (index + step), "cpu.user": 10**8 * step,
                              "cpu.system": 10**8 * step}
    for key in ("current", "maximum", "rss", "unused", "available", "usable",
                "disk_caches", "swap_in", "swap_out", "major_fault", "minor_fault"):
        raw["balloon." + key] = 1024 * (index + 1) + step
    raw["vcpu.current"] = raw["vcpu.maximum"] = 2
    for n in range(2):
        raw.update({f"vcpu.{n}.time": 10**9 * step, f"vcpu.{n}.wait": 10**6 * step,
                    f"vcpu.{n}.delay": 10**6 * step, f"vcpu.{n}.state": 1})
    raw.update({"block.count": 1, "block.0.name": "vda", "net.count": 1,
                "net.0.name": "tap%05d" % index})
    for field in ("rd.bytes", "wr.bytes", "rd.reqs", "wr.reqs", "fl.reqs", "rd.times",
                  "wr.times", "fl.times", "capacity", "allocation", "physical"):
        raw["block.0." + field] = 4096 * step + index
    for field in ("rx.bytes", "rx.pkts", "rx.errs", "rx.drop", "tx.bytes", "tx.pkts",
                  "tx.errs", "tx.drop"):
        raw["net.0." + field] = 1500 * step + index
    return raw


def snapshot(domains: int, step: int) -> Snapshot:
    samples, tenancy = [], {}
    for index in range(domains):
        uuid = "6a1f3b2e-4c5d-4e6f-8a9b-%012x" % index
        samples.append(sample_from_record(fakes.Domain("instance-%08x" % index, uuid, index),
                                          _raw(index, step)))
        tenancy[uuid] = model.Tenancy(
            instance_uuid=uuid, instance_name="vm-%05d" % index, project_id="%032x" % (index % 50),
            project_name="project-%d" % (index % 50), user_id="%032x" % (index % 200),
            user_name="user-%d" % (index % 200), flavor="m1.small",
            source=model.SOURCE_METADATA)
    return Snapshot(samples=tuple(samples), tenancy=MappingProxyType(tenancy), libvirt_up=True,
                    collected_at=time.time(), duration=0.1)


@dataclasses.dataclass
class Cost:
    what: str
    cpu_ms: list[float]
    lines: int = 0
    datagrams: int = 0
    kib: float = 0.0


def _timed(what: str, sends: int, body) -> Cost:
    cost = Cost(what, [])
    for step in range(sends):
        started = time.process_time()
        lines, datagrams, size = body(step)
        cost.cpu_ms.append((time.process_time() - started) * 1000)
        cost.lines, cost.datagrams, cost.kib = lines, datagrams, size / 1024
    return cost


def run(args: argparse.Namespace) -> int:
    print(hostinfo.header(None, "none", "statsd", vars(args)), flush=True)
    snaps = [snapshot(args.domains, step) for step in range(2)]
    costs = []
    with statsd_sink.StatsdSink() as sink:
        for tag_format, metrics in (("none", DEFAULT), ("dogstatsd", DEFAULT),
                                    ("influxdb", DEFAULT), ("dogstatsd", ())):
            formatter = Formatter(Layout(tag_format=tag_format, tenant_labels=TENANT_LABELS,
                                         metrics=metrics))
            sender = UdpSender("127.0.0.1", sink.port)
            formatter.lines(snaps[0])

            def send(step: int, formatter=formatter, sender=sender):
                packed = packing.pack(formatter.lines(snaps[(step + 1) % 2]),
                                      args.max_datagram_bytes)
                sender.send(packed.datagrams)
                return packed.lines, len(packed.datagrams), sum(map(len, packed.datagrams))

            what = "statsd-%s%s" % (tag_format, "" if metrics else "-all-families")
            costs.append(_timed(what, args.sends, send))
            sender.close()

    def render(step: int):
        body = text.render(itertools.chain(
            prometheus.domain_families(snaps[step % 2], TENANT_LABELS),
            extra_metrics.extra_families(snaps[step % 2], TENANT_LABELS)))
        return body.count(b"\n"), 0, len(body)

    costs.append(_timed("metrics-render-reference", args.sends, render))
    rows = []
    for c in costs:
        p50 = report.percentile(c.cpu_ms, 50)
        per_min = p50 * 60 / args.interval / 1000 if p50 is not None else None
        rows.append([c.what, report.fmt(p50), report.fmt(report.percentile(c.cpu_ms, 95)),
                     report.fmt(per_min, 2), str(c.lines), str(c.datagrams),
                     report.fmt(c.kib)])
    print(report.table(("output", "cpu_p50_ms", "cpu_p95_ms", "cpu_s/min", "lines",
                        "datagrams", "KiB"), rows,
                       f"one send of {args.domains} domains, every {args.interval:g}s"))
    return 0
