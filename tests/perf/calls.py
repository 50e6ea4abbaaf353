"""``bench calls``: libvirt calls per collection, by naming profile (test driver, N domains).

Every method of libvirt-python's virConnect and virDomain is counted while
the service collects and renders: one warm-up collection (each domain's XML
and tenancy are read once), then ``--collections`` counted ones. A profile
may not add a call: its families come from the same snapshot.
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


def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="enricher-calls-") as tmp:
        node = Path(tmp) / "node.xml"
        nodegen.write_node(node, args.domains)
        rows = table(node, args.collections)
    print("| configuration | call | per collection |\n| --- | --- | --- |")
    for name, call, n in rows:
        local = " (local)" if call in LOCAL else ""
        print("| %s | %s%s | %g |" % (name, call, local, n))
    return 0
