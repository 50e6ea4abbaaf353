"""Fresh disk I/O counters between the block group's slow collections.

libvirt's ``block`` stats group costs two QMP round trips into every QEMU
(``query-blockstats``, then ``query-named-block-nodes`` for capacity and
allocation), whatever is asked. One ``virDomainBlockStatsFlags`` call
costs one (``query-blockstats`` alone), so for a single-disk domain it
halves the cost of fresh I/O counters. So between slow collections:

* single-disk running domains get their counters from one call each
  (:mod:`enricher.libvirt.block_stats_call`), run on a few threads with a
  deadline (a call waits for the domain's job, which a busy or stuck domain
  may hold; the bulk call's NOWAIT would have skipped it): a call that errs
  or misses the deadline keeps the last values this time and moves the
  domain to the bulk path until it is started again;
* every other running domain (several disks, or not yet seen with the block
  group, or moved) gets the block group in one bulk call for just them.

Capacity, allocation and physical size come with the block group on slow
collections and are carried in between.
"""

from __future__ import annotations

import collections
import concurrent.futures
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from enricher.libvirt import block_stats_call
from enricher.libvirt.connection import is_disconnection, is_domain_gone, libvirt

LOG = logging.getLogger(__name__)

# virDomainBlockStatsFlags field -> the block group's key after "block.<n>.".
FIELDS = {
    "rd_operations": "rd.reqs", "rd_bytes": "rd.bytes", "rd_total_times": "rd.times",
    "wr_operations": "wr.reqs", "wr_bytes": "wr.bytes", "wr_total_times": "wr.times",
    "flush_operations": "fl.reqs", "flush_total_times": "fl.times",
}
WORKERS = 4
DEADLINE = 2.0  # seconds a collection waits for all per-domain calls
PATHS = ("per_domain", "bulk", "failed", "late")

Record = tuple[Any, dict[str, Any]]
BlockStatsCall = Callable[[Any, str], Mapping[str, Any]]


def single_disk(raw: Mapping[str, Any]) -> str | None:
    """The disk name of a record that carries exactly one disk from the block group."""
    if raw.get("block.count") != 1:
        return None
    name = raw.get("block.0.name")
    return name if isinstance(name, str) and name else None


class DiskCounters:
    """Refreshes running domains' I/O counters on collections without the block group."""

    def __init__(self, call: BlockStatsCall = block_stats_call.block_stats,
                 workers: int = WORKERS, deadline: float = DEADLINE) -> None:
        self._call = call
        self._deadline = deadline
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="disk-counters")
        self._bulk_only: dict[str, int] = {}  # uuid -> libvirt id it was moved at
        self._in_flight: set[str] = set()
        self._counts: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    def counts(self) -> dict[str, int]:
        """Domain refreshes so far by path: per_domain, bulk, failed, late."""
        with self._lock:
            return dict(self._counts)

    def _count(self, path: str, n: int = 1) -> None:
        with self._lock:
            self._counts[path] += n

    def refresh(self, conn: Any, records: list[Record], call_flags: int) -> list[Record]:
        """Fresh counters on every running domain's record, by the cheapest path."""
        singles: dict[int, str] = {}
        bulk: list[int] = []
        live = set()
        for index, (dom, raw) in enumerate(records):
            uuid, dom_id = dom.UUIDString(), dom.ID()
            live.add(uuid)
            if dom_id == -1 or raw.get("block.count") == 0:
                continue  # shut off (nothing moves) or no disks
            disk = single_disk(raw)
            if disk is not None and self._bulk_only.get(uuid) != dom_id:
                singles[index] = disk
            else:
                bulk.append(index)
        out = list(records)
        self._per_domain(out, singles)
        if bulk:
            self._bulk(conn, out, bulk, call_flags)
        for uuid in [u for u in self._bulk_only if u not in live]:
            del self._bulk_only[uuid]
        return out

    def _per_domain(self, out: list[Record], singles: dict[int, str]) -> None:
        futures: dict[concurrent.futures.Future[Mapping[str, Any]], int] = {}
        for index, disk in singles.items():
            dom = out[index][0]
            uuid = dom.UUIDString()
            with self._lock:
                if uuid in self._in_flight:  # still stuck in an earlier call
                    continue
                self._in_flight.add(uuid)
            future = self._pool.submit(self._call, dom, disk)
            future.add_done_callback(lambda _f, u=uuid: self._done(u))
            futures[future] = index
        done, late = concurrent.futures.wait(futures, timeout=self._deadline)
        for future in done:
            index = futures[future]
            dom, raw = out[index]
            try:
                stats = future.result()
            except libvirt.libvirtError as exc:
                if is_disconnection(exc):
                    raise
                if not is_domain_gone(exc):
                    self._count("failed")
                    self._move(dom, f"virDomainBlockStatsFlags failed: {exc}")
                continue
            fresh = {"block.0." + key: stats[field]
                     for field, key in FIELDS.items() if field in stats}
            out[index] = (dom, {**raw, **fresh})
            self._count("per_domain")
        for future in late:
            self._count("late")
            self._move(out[futures[future]][0],
                       f"virDomainBlockStatsFlags took longer than {self._deadline:g} s")

    def _done(self, uuid: str) -> None:
        with self._lock:
            self._in_flight.discard(uuid)

    def _move(self, dom: Any, why: str) -> None:
        LOG.warning("Disk counters of domain %s come from the block stats group "
                    "until it is started again: %s", dom.name(), why)
        self._bulk_only[dom.UUIDString()] = dom.ID()

    def _bulk(self, conn: Any, out: list[Record], indexes: list[int], call_flags: int) -> None:
        doms = [out[i][0] for i in indexes]
        try:
            records = conn.domainListGetStats(doms, libvirt.VIR_DOMAIN_STATS_BLOCK,
                                              call_flags)
        except libvirt.libvirtError as exc:
            if is_disconnection(exc):
                raise
            LOG.warning("Could not read the block stats group of %d domain(s): %s",
                        len(doms), exc)
            return
        fresh = {dom.UUIDString(): raw for dom, raw in records}
        for index in indexes:
            dom, raw = out[index]
            got = fresh.get(dom.UUIDString())
            if got:
                self._count("bulk")
                kept = {k: v for k, v in raw.items() if not k.startswith("block.")}
                out[index] = (dom, {**kept, **got})

    def stop(self) -> None:
        """Stop the worker threads; a call stuck in libvirt is left to finish."""
        self._pool.shutdown(wait=False, cancel_futures=True)
