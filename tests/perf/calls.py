"""``bench calls``: libvirt calls per collection, and render time, by naming profile.

Every method of libvirt-python's virConnect and virDomain is counted while
the service collects and renders on a test-driver node of ``--domains``:
one warm-up collection (each domain's XML and tenancy are read once), then
``--collections`` counted ones. A profile may not add a call: its families
come from the same snapshot. The test driver gives only the state group, so
the render time is taken on ``--render-vms`` copies of the recorded real
guests (tests/fixtures/golden/e2e-guests-stats.json, every group).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import functools
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import libvirt

from tests.perf import nodegen, options

OPTIONS: options.Table = {
    "--domains": (200, "domains on the test-driver node"),
    "--collections": (5, "counted collections per configuration"),
    "--render-vms": (100, "copies of the recorded guests rendered per configuration"),
    "--renders": (20, "timed renders per configuration (the median is reported; 0 "
                      "counts calls only, which needs no machine-wide lock)"),
}
# name -> [prometheus] overrides
CONFIGS: Mapping[str, Mapping[str, object]] = {
    "seed": {},
    "seed+device_info": {"device_info": True},
    "inovex": {"metric_names": "inovex"},
    "vadvisor": {"metric_names": "vadvisor"},
}
# Accessors of a virDomain object that answer locally (no RPC).
LOCAL = frozenset({"virDomain.UUIDString", "virDomain.name", "virDomain.ID",
                   "virDomain.UUID", "virDomain.connect", "virConnect.getURI"})


@contextlib.contextmanager
def counting() -> Iterator[collections.Counter]:
    """Count calls of every public virConnect and virDomain method; restore them after."""
    counts: collections.Counter = collections.Counter()
    saved: list[tuple[type, str, Any]] = []

    def wrap(cls: type, name: str, method: Callable) -> Callable:
        key = "%s.%s" % (cls.__name__, name)

        @functools.wraps(method)
        def counted(*args: Any, **kwargs: Any) -> Any:
            counts[key] += 1
            return method(*args, **kwargs)
        return counted

    for cls in (libvirt.virConnect, libvirt.virDomain):
        for name, method in list(vars(cls).items()):
            if name.startswith("_") or not callable(method):
                continue
            saved.append((cls, name, method))
            setattr(cls, name, wrap(cls, name, method))
    try:
        yield counts
    finally:
        for cls, name, method in saved:
            setattr(cls, name, method)


def per_collection(node: Path, collections_: int, **prometheus: object
                   ) -> tuple[dict[str, float], int]:
    """Calls per collection (collect + render) after a warm-up; and the bytes rendered."""
    from enricher.cmd.enricher import Service
    from tests.functional.conftest import make_conf

    overrides = {"prometheus__" + k: v for k, v in prometheus.items()}
    svc = Service(make_conf("test://%s" % node, **overrides))
    try:
        svc.app.prepare(svc.sampler.collect())  # reads every domain's XML once
        with counting() as counts:
            for _ in range(collections_):
                rendered = svc.app.prepare(svc.sampler.collect())
        return ({k: v / collections_ for k, v in sorted(counts.items())},
                len(rendered.plain))
    finally:
        svc.stop()


def table(node: Path, collections_: int) -> list[tuple[str, str, float]]:
    rows = []
    for name, overrides in CONFIGS.items():
        counts, size = per_collection(node, collections_, **overrides)
        rows += [(name, call, n) for call, n in counts.items()]
        rows.append((name, "(exposition bytes)", float(size)))
    return rows


def recorded_snapshot(vms: int) -> Any:
    """A snapshot of ``vms`` copies of the recorded guests, with their descriptions."""
    import dataclasses
    import uuid as uuidlib
    from types import MappingProxyType

    from enricher.sampler import Snapshot
    from tests.unit.test_profiles import snapshot

    base = snapshot()
    samples, tenancy, descriptions = [], {}, {}
    for index in range(vms):
        sample = base.samples[index % len(base.samples)]
        uuid = str(uuidlib.UUID(int=index + 1))
        samples.append(dataclasses.replace(sample, uuid=uuid, name="vm-%05d" % index))
        tenancy[uuid] = base.tenancy_of(sample.uuid)
        descriptions[uuid] = base.description_of(sample.uuid)
    return Snapshot(samples=tuple(samples), tenancy=MappingProxyType(tenancy),
                    descriptions=MappingProxyType(descriptions), libvirt_up=True,
                    collected_at=1.0, duration=0.1)


def render_table(vms: int, renders: int) -> dict[str, tuple[float, float, int]]:
    """Per configuration: median and least CPU milliseconds of one per-snapshot render
    (MetricsApp.prepare), and its bytes. Configurations take turns on the same
    snapshots, so that they see the same noise; CPU time, not wall time."""
    import statistics
    import time

    from enricher.exporters.exposition import MetricsApp
    from enricher.health import ErrorCounts
    from enricher.tenancy import model

    apps = {name: MetricsApp(None, ErrorCounts(), model.DEFAULT_TENANT_LABELS,
                             profile=str(o.get("metric_names", "seed")),
                             device_info=bool(o.get("device_info", False)))
            for name, o in CONFIGS.items()}
    times: dict[str, list[float]] = {name: [] for name in apps}
    sizes = {}
    for _ in range(renders):
        snap = recorded_snapshot(vms)  # prepare() renders each snapshot once per app
        for name, app in apps.items():
            started = time.process_time()
            sizes[name] = len(app.prepare(snap).plain)
            times[name].append(time.process_time() - started)
    return {name: (statistics.median(t) * 1000, min(t) * 1000, sizes[name])
            for name, t in times.items()}


def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="enricher-calls-") as tmp:
        node = Path(tmp) / "node.xml"
        nodegen.write_node(node, args.domains)
        rows = table(node, args.collections)
    print("| configuration | call | per collection |\n| --- | --- | --- |")
    for name, call, n in rows:
        local = " (local)" if call in LOCAL else ""
        print("| %s | %s%s | %g |" % (name, call, local, n))
    if args.renders <= 0:
        return 0
    print("\n| configuration | render CPU ms, %d VMs: median | least | bytes |\n"
          "| --- | --- | --- | --- |" % args.render_vms)
    for name, (median, least, size) in render_table(args.render_vms, args.renders).items():
        print("| %s | %.1f | %.1f | %d |" % (name, median, least, size))
    return 0
