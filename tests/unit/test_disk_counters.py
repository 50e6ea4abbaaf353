"""Disk I/O counters between slow collections: the cheapest path per domain, bounded waits.

virDomainBlockStatsFlags and the block group need a QEMU guest (the test
driver has neither), so the per-domain call, domains and connection here are
stand-ins that answer with the shapes libvirt 9.0 + QEMU 7.2 returned for an
e2e guest; the real path (the one-call ctypes binding included) is covered by
tests/e2e/test_disk_counters.py.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import libvirt
import pytest

from enricher.libvirt.disk_counters import DiskCounters, single_disk

# A single-disk guest's record after a slow collection (block group included).
CARRIED = {"state.state": 1, "block.count": 1, "block.0.name": "vda",
           "block.0.rd.reqs": 10, "block.0.rd.bytes": 5120, "block.0.capacity": 16777216}
# What virDomainBlockStatsFlags("vda") returned for it later.
FLAGS = {"rd_operations": 12, "rd_bytes": 6144, "rd_total_times": 900,
         "wr_operations": 0, "wr_bytes": 0, "wr_total_times": 0,
         "flush_operations": 0, "flush_total_times": 0}


class Dom:
    def __init__(self, uuid: str, dom_id: int = 3, answer: Any = FLAGS) -> None:
        self.uuid, self.dom_id, self.answer = uuid, dom_id, answer
        self.calls: list[str] = []

    def UUIDString(self) -> str:  # noqa: N802 - libvirt's name
        return self.uuid

    def ID(self) -> int:  # noqa: N802 - libvirt's name
        return self.dom_id

    def name(self) -> str:
        return "instance-" + self.uuid

    def stats(self, disk: str) -> dict[str, int]:
        """What the one-call virDomainBlockStatsFlags would answer for this domain."""
        self.calls.append(disk)
        if isinstance(self.answer, BaseException):
            raise self.answer
        if isinstance(self.answer, threading.Event):
            self.answer.wait(10)
            return dict(FLAGS)
        return dict(self.answer)


def call(dom: Dom, disk: str) -> dict[str, int]:
    return dom.stats(disk)


class Conn:
    def __init__(self) -> None:
        self.listed: list[list[str]] = []

    def domainListGetStats(self, doms: list[Dom], flags: int, call_flags: int):  # noqa: N802
        assert flags == libvirt.VIR_DOMAIN_STATS_BLOCK
        self.listed.append([d.UUIDString() for d in doms])
        return [(d, {"block.count": 1, "block.0.name": "vdb", "block.0.rd.reqs": 99})
                for d in doms]


def _error(code: int) -> libvirt.libvirtError:
    exc = libvirt.libvirtError("stand-in")
    exc.err = (code, 0, "stand-in", 0, "", "", "", 0, 0)
    return exc


def test_single_disk_means_exactly_one_named_disk() -> None:
    assert single_disk(CARRIED) == "vda"
    assert single_disk({**CARRIED, "block.count": 2}) is None
    assert single_disk({"block.count": 1}) is None
    assert single_disk({}) is None


def test_each_domain_takes_the_cheapest_path() -> None:
    single, multi, new, off, diskless = (Dom("a"), Dom("b"), Dom("c"), Dom("d", -1), Dom("e"))
    records = [(single, dict(CARRIED)), (multi, {**CARRIED, "block.count": 2}),
               (new, {"state.state": 1}), (off, dict(CARRIED)),
               (diskless, {"state.state": 1, "block.count": 0})]
    conn = Conn()
    counters = DiskCounters(call)
    out = dict((d.uuid, raw) for d, raw in counters.refresh(conn, records, 0))
    assert single.calls == ["vda"] and multi.calls == new.calls == off.calls == []
    assert out["a"]["block.0.rd.reqs"] == 12 and out["a"]["block.0.rd.times"] == 900
    assert out["a"]["block.0.capacity"] == 16777216  # carried from the slow collection
    assert conn.listed == [["b", "c"]]  # one bulk call for the rest
    assert out["b"]["block.0.rd.reqs"] == 99 and "block.0.capacity" not in out["b"]
    assert out["d"] == CARRIED and out["e"]["block.count"] == 0
    assert counters.counts() == {"per_domain": 1, "bulk": 2}
    counters.stop()


def test_a_failing_call_keeps_the_values_and_moves_the_domain_to_bulk() -> None:
    dom = Dom("a", answer=_error(libvirt.VIR_ERR_OPERATION_TIMEOUT))
    conn, counters = Conn(), DiskCounters(call)
    out = counters.refresh(conn, [(dom, dict(CARRIED))], 0)
    assert out[0][1] == CARRIED and conn.listed == []
    counters.refresh(conn, [(dom, dict(CARRIED))], 0)
    assert conn.listed == [["a"]] and dom.calls == ["vda"]
    dom.dom_id = 4  # started again: the cheap path is tried again
    counters.refresh(conn, [(dom, dict(CARRIED))], 0)
    assert dom.calls == ["vda", "vda"]
    assert counters.counts() == {"failed": 2, "bulk": 1}
    counters.stop()


def test_a_vanished_domain_is_not_moved() -> None:
    dom = Dom("a", answer=_error(libvirt.VIR_ERR_NO_DOMAIN))
    conn, counters = Conn(), DiskCounters(call)
    counters.refresh(conn, [(dom, dict(CARRIED))], 0)
    counters.refresh(conn, [(dom, dict(CARRIED))], 0)
    assert dom.calls == ["vda", "vda"] and conn.listed == []
    counters.stop()


def test_a_lost_connection_is_raised() -> None:
    dom = Dom("a", answer=_error(libvirt.VIR_ERR_NO_CONNECT))
    with pytest.raises(libvirt.libvirtError):
        DiskCounters(call).refresh(Conn(), [(dom, dict(CARRIED))], 0)


def test_a_stuck_call_costs_the_deadline_once_and_is_not_repeated() -> None:
    release = threading.Event()
    stuck, fine = Dom("a", answer=release), Dom("b")
    conn, counters = Conn(), DiskCounters(call, deadline=0.3)
    started = time.monotonic()
    out = counters.refresh(conn, [(stuck, dict(CARRIED)), (fine, dict(CARRIED))], 0)
    took = time.monotonic() - started
    assert 0.3 <= took < 2.0
    assert out[0][1] == CARRIED and out[1][1]["block.0.rd.reqs"] == 12
    started = time.monotonic()
    counters.refresh(conn, [(stuck, dict(CARRIED))], 0)
    assert time.monotonic() - started < 0.3
    assert stuck.calls == ["vda"] and conn.listed == [["a"]]  # bulk (NOWAIT) from now on
    assert counters.counts() == {"per_domain": 1, "late": 1, "bulk": 1}
    release.set()
    counters.stop()
