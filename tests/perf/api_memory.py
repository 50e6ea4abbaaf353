"""``bench api``: memory and render time of the REST API's history at N domains.

Synthetic domains with the stats keys a real guest has (2 vCPUs, 2 disks,
1 NIC, balloon), fed to the history as the sampler and the light 1 s
collection would; traced with ``tracemalloc``. No libvirt involved.
"""

from __future__ import annotations

import argparse
import json
import time
import tracemalloc
from types import MappingProxyType

from enricher.events.history import EventHistory
from enricher.exporters.history import History
from enricher.libvirt.events import DomainEvent
from enricher.libvirt.stats import Device, DomainSample
from enricher.tenancy import model
from tests.perf import options

OPTIONS: options.Table = {
    "--domains": (1000, "domains in the history"),
    "--seconds": (60, "[api] history_seconds"),
    "--interval": (15.0, "the sampler's [DEFAULT] interval (full collections)"),
    "--history-intervals": ("15,1", "[api] history_interval values to measure"),
    "--events": (1000, "[api] event_history: events kept"),
}

_BLOCK = ("rd.reqs", "rd.bytes", "rd.times", "wr.reqs", "wr.bytes", "wr.times", "fl.reqs",
          "fl.times", "allocation", "capacity", "physical", "errors")
_NET = ("rx.bytes", "rx.pkts", "rx.errs", "rx.drop", "tx.bytes", "tx.pkts", "tx.errs",
        "tx.drop")


def sample(index: int, tick: int) -> DomainSample:
    """One synthetic domain at collection ``tick`` (every counter moves)."""
    scalars = {"cpu.time": 10**9 * tick + index, "cpu.user": 10**8 * tick,
               "cpu.system": 10**7 * tick, "vcpu.current": 2, "vcpu.maximum": 2,
               "block.count": 2, "net.count": 1, "balloon.current": 2097152,
               "balloon.maximum": 2097152, "balloon.rss": 1048576 + tick,
               "balloon.unused": 524288, "balloon.available": 2000000,
               "balloon.usable": 1500000, "balloon.last-update": 1700000000 + tick}
    uuid = "%08x-0000-4000-8000-%012x" % (index, index)
    return DomainSample(
        uuid=uuid, name="instance-%08x" % index, active=True, state=1, reason=1,
        scalars=MappingProxyType(scalars),
        vcpus=tuple(Device(str(v), MappingProxyType(
            {"state": 1, "time": 10**9 * tick + v, "wait": tick, "delay": tick}))
            for v in range(2)),
        blocks=tuple(Device(d, MappingProxyType(
            {"name": d, **{k: 4096 * tick + i for i, k in enumerate(_BLOCK)}}))
            for d in ("vda", "vdb")),
        nets=(Device("tap0123456789a", MappingProxyType(
            {"name": "tap0123456789a", **{k: 1500 * tick + i for i, k in enumerate(_NET)}})),))


def tenancy(index: int) -> model.Tenancy:
    return model.Tenancy(instance_uuid="%032x" % index, instance_name="vm-%d" % index,
                         project_id="%032x" % (index % 50), project_name="project-%d" % index,
                         user_id="%032x" % (index % 200), user_name="user-%d" % index,
                         flavor="m1.small", flavor_vcpus=2, flavor_ram_mb=2048,
                         source=model.SOURCE_METADATA)


def measure(domains: int, seconds: float, interval: float, every: float) -> dict[str, float]:
    """Fill a history for ``seconds`` of simulated time; its size and render time."""
    tenancies = [tenancy(i) for i in range(domains)]
    tracemalloc.start()
    history = History(seconds, every)
    base = tracemalloc.get_traced_memory()[0]
    full_every = max(1, round(interval / every))
    started = time.process_time()
    ticks = int(seconds / every) + 2
    for tick in range(ticks):
        samples = [sample(i, tick) for i in range(domains)]
        at = 1000.0 + tick * every
        if tick % full_every == 0:
            history.add(at, zip(samples, tenancies, strict=True))
        else:
            history.add_light(at, samples)
        del samples
    feed = (time.process_time() - started) / ticks
    used = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    started = time.perf_counter()
    body = history.render_all()
    render = time.perf_counter() - started
    return {"history_interval": every, "records_per_domain": len(
        next(iter(history.rings.values())).records), "mib": used / 2**20,
        "feed_cpu_ms": feed * 1000, "render_all_ms": render * 1000,
        "body_mib": len(body) / 2**20}


def measure_events(count: int) -> float:
    tracemalloc.start()
    events = EventHistory(count, host="compute-1")
    base = tracemalloc.get_traced_memory()[0]
    for i in range(count):
        events(DomainEvent("%032x" % i, "instance-%08x" % i, "started", "booted",
                           1000.0 + i), tenancy(i))
    used = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    return used / 2**20


def run(args: argparse.Namespace) -> int:
    rows = [measure(args.domains, args.seconds, args.interval, float(every))
            for every in args.history_intervals.split(",")]
    for row in rows:
        print(json.dumps({"domains": args.domains, **{k: round(v, 2) for k, v in row.items()}}))
    print(json.dumps({"events": args.events, "mib": round(measure_events(args.events), 2)}))
    return 0
