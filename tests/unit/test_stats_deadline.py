"""A bulk stats call stuck on one QEMU: the others stay fresh, the stuck one is marked.

The fake connection behaves as libvirt's QEMU driver does: a call that finds a
domain's job free takes it and asks its monitor (which, for the stuck QEMU,
never answers until released); with NOWAIT, a call that finds the job taken
returns that domain's figures that need no monitor and goes on.
``controlInfo`` says OCCUPIED while a monitor command is in flight.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import libvirt
import pytest

from enricher import exceptions
from enricher.health import ErrorCounts
from enricher.libvirt.deadline import DeadlineCaller
from enricher.libvirt.stats import StatsReader
from tests import fakes

TIMEOUT = 0.3
NOWAIT = libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT


class _Dom(fakes.Domain):
    def __init__(self, conn: _Conn, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conn = conn

    def controlInfo(self) -> list[int]:  # noqa: N802 - libvirt's name
        since = self.conn.monitor_since.get(self.uuid)
        if since is None:
            return [libvirt.VIR_DOMAIN_CONTROL_OK, 0, 0]
        return [libvirt.VIR_DOMAIN_CONTROL_OCCUPIED, 0,
                int((time.monotonic() - since) * 1000)]


class _Conn:
    def __init__(self) -> None:
        self.doms = [_Dom(self, uuid="ok-1", name_="instance-1", id_=1),
                     _Dom(self, uuid="stuck", name_="instance-2", id_=2),
                     _Dom(self, uuid="ok-3", name_="instance-3", id_=3)]
        self.frozen = {"stuck"}
        self.release = threading.Event()
        self.job_held: set[str] = set()
        self.monitor_since: dict[str, float] = {}
        self.calls = 0
        self.lock = threading.Lock()

    def getAllDomainStats(self, _flags: int, call_flags: int) -> list:  # noqa: N802
        with self.lock:
            self.calls += 1
            n = self.calls
        records = []
        for dom in self.doms:
            raw: dict[str, Any] = {"state.state": 1, "state.reason": 1, "cpu.time": n}
            with self.lock:
                busy = dom.uuid in self.job_held
                if not busy:
                    self.job_held.add(dom.uuid)
            if busy and not call_flags & NOWAIT:
                time.sleep(30)  # libvirt waits 30 s for the job
            if not busy:
                try:
                    if dom.uuid in self.frozen:
                        self.monitor_since[dom.uuid] = time.monotonic()
                        self.release.wait()
                        del self.monitor_since[dom.uuid]
                    raw["block.count"] = 1
                    raw["block.0.name"] = "vda"
                    raw["block.0.rd.bytes"] = n
                finally:
                    with self.lock:
                        self.job_held.discard(dom.uuid)
            records.append((dom, raw))
        return records


@pytest.fixture
def conn() -> Any:
    made = _Conn()
    yield made
    made.release.set()


def test_the_stuck_domain_is_marked_and_the_others_stay_fresh(conn: _Conn) -> None:
    reader = StatsReader(["state", "cpu", "block"], timeout=TIMEOUT)
    started = time.monotonic()
    first = reader.collect(conn)
    assert time.monotonic() - started < 3 * TIMEOUT
    assert first.timed_out == {"stuck"}
    assert first.call_timeouts == 1
    by_uuid = {s.uuid: s for s in first.samples}
    assert set(by_uuid) == {"ok-1", "stuck", "ok-3"}
    assert by_uuid["stuck"].blocks == ()  # no monitor figures for it
    assert by_uuid["stuck"].state == 1  # what needs no monitor is still there
    last = {u: s.scalars["cpu.time"] for u, s in by_uuid.items()}
    for _ in range(3):
        started = time.monotonic()
        later = reader.collect(conn)
        assert time.monotonic() - started < TIMEOUT  # the left-behind call costs nothing
        assert later.timed_out == {"stuck"} and later.call_timeouts == 0
        now = {s.uuid: s.scalars["cpu.time"] for s in later.samples}
        assert all(now[u] > last[u] for u in ("ok-1", "ok-3"))  # fresh every collection
        assert {s.uuid: len(s.blocks) for s in later.samples} == {
            "ok-1": 1, "stuck": 0, "ok-3": 1}
        last = now

    conn.release.set()  # SIGCONT: the monitor answers the call left behind
    deadline = time.monotonic() + 5
    while reader._caller.pending and time.monotonic() < deadline:
        time.sleep(0.01)
    back = reader.collect(conn)
    assert back.timed_out == frozenset()
    assert {s.uuid: len(s.blocks) for s in back.samples} == {"ok-1": 1, "stuck": 1, "ok-3": 1}


def test_without_nowait_a_stuck_call_fails_the_collection_after_one_deadline(
        conn: _Conn) -> None:
    reader = StatsReader(["state", "cpu", "block"], nowait=False, timeout=TIMEOUT)
    started = time.monotonic()
    with pytest.raises(exceptions.LibvirtTimeout):
        reader.collect(conn)
    assert time.monotonic() - started < 2 * TIMEOUT
    assert reader.timeouts == 1


def test_the_sampler_counts_timeouts_and_keeps_libvirt_up(conn: _Conn) -> None:
    from enricher.sampler import Sampler
    from enricher.tenancy import model
    from enricher.tenancy.domain_reader import DomainRecord
    from enricher.tenancy.resolver import Resolver

    class _Connection:
        def get(self) -> _Conn:
            return conn

        def mark_success(self) -> None:
            pass

    errors = ErrorCounts()
    resolver = Resolver(errors,
                        reader=lambda dom: DomainRecord(model.Tenancy(project_id="p"), None))
    sampler = Sampler(_Connection(), StatsReader(["state", "cpu", "block"], timeout=TIMEOUT),
                      resolver, errors)
    snap = sampler.collect()
    assert snap.libvirt_up and snap.timed_out == {"stuck"}
    assert errors.get("libvirt", "stats_timeout") == 1
    assert len(snap.samples) == 3


def test_no_control_info_call_while_nothing_is_left_behind() -> None:
    class _Healthy(_Conn):
        def __init__(self) -> None:
            super().__init__()
            self.frozen = set()
            for dom in self.doms:
                dom.controlInfo = None  # calling it would raise TypeError

    reader = StatsReader(["state", "cpu", "block"], timeout=TIMEOUT)
    assert reader.collect(_Healthy()).timed_out == frozenset()


def test_deadline_caller_caps_the_calls_left_behind() -> None:
    gate = threading.Event()
    caller = DeadlineCaller(0.05, max_pending=2)
    for _ in range(2):
        with pytest.raises(exceptions.LibvirtTimeout):
            caller.call(gate.wait)
    assert caller.pending == 2
    with pytest.raises(exceptions.LibvirtTimeout, match="still unanswered"):
        caller.call(lambda: 1)
    gate.set()
    deadline = time.monotonic() + 5
    while caller.pending and time.monotonic() < deadline:
        time.sleep(0.01)
    assert caller.pending == 0
    assert caller.call(lambda: 1) == 1


def test_deadline_caller_raises_the_calls_own_error_and_runs_inline_without_timeout(
        ) -> None:
    caller = DeadlineCaller(1.0)
    with pytest.raises(ZeroDivisionError):
        caller.call(lambda: 1 / 0)
    inline = DeadlineCaller(0)
    assert inline.call(threading.current_thread) is threading.current_thread()


def test_a_control_info_that_hangs_marks_its_domain_and_is_not_asked_again(
        conn: _Conn) -> None:
    """virDomainGetControlInfo on the stuck domain may wait too: then that domain
    is the stuck one, and it is not asked again while its call is left behind."""
    asked = []

    def hanging_control_info() -> list[int]:
        asked.append(1)
        conn.release.wait()
        return [libvirt.VIR_DOMAIN_CONTROL_OK, 0, 0]

    conn.doms[1].controlInfo = hanging_control_info
    reader = StatsReader(["state", "cpu", "block"], timeout=TIMEOUT)
    first = reader.collect(conn)
    assert first.timed_out == {"stuck"}
    assert first.call_timeouts == 2  # the bulk call, then the check
    for _ in range(3):
        started = time.monotonic()
        later = reader.collect(conn)
        assert time.monotonic() - started < TIMEOUT
        assert later.timed_out == {"stuck"} and later.call_timeouts == 0
    assert len(asked) == 1
    conn.release.set()
    deadline = time.monotonic() + 5
    while reader._caller.pending and time.monotonic() < deadline:
        time.sleep(0.01)
    assert reader.collect(conn).timed_out == frozenset()


def test_a_domain_another_client_is_stuck_on_is_marked_without_waiting(conn: _Conn) -> None:
    """Nova or a second exporter took the stuck domain's job first: no call of
    ours blocks, NOWAIT returns the domain without monitor figures, and only
    that domain's monitor is checked (the healthy ones are never asked)."""
    for dom in (conn.doms[0], conn.doms[2]):
        dom.controlInfo = None  # calling it would raise TypeError
    reader = StatsReader(["state", "cpu", "block"], timeout=TIMEOUT)
    conn.frozen = set()
    assert reader.collect(conn).timed_out == frozenset()  # seen with its monitor figures
    conn.frozen = {"stuck"}
    other = threading.Thread(target=conn.getAllDomainStats, args=(0, NOWAIT), daemon=True)
    other.start()  # the other client: stuck on "stuck", holding its job
    deadline = time.monotonic() + 5
    while "stuck" not in conn.monitor_since and time.monotonic() < deadline:
        time.sleep(0.01)
    assert reader.collect(conn).timed_out == frozenset()  # busy for less than half the deadline
    time.sleep(TIMEOUT / 2)
    for _ in range(3):
        started = time.monotonic()
        later = reader.collect(conn)
        assert time.monotonic() - started < TIMEOUT
        assert later.timed_out == {"stuck"} and later.call_timeouts == 0
        assert {s.uuid: len(s.blocks) for s in later.samples} == {
            "ok-1": 1, "stuck": 0, "ok-3": 1}
    conn.release.set()
    other.join(5)
    back = reader.collect(conn)
    assert back.timed_out == frozenset()
    assert {s.uuid: len(s.blocks) for s in back.samples} == {"ok-1": 1, "stuck": 1, "ok-3": 1}


def test_a_domain_never_seen_with_monitor_figures_is_not_checked(conn: _Conn) -> None:
    """A driver without block figures (libvirt's test driver), or a disk-less
    domain: answered without monitor figures every time, never asked."""

    class _StateOnly(_Conn):
        def getAllDomainStats(self, _flags: int, _call_flags: int) -> list:  # noqa: N802
            return [(dom, {"state.state": 1, "state.reason": 1}) for dom in self.doms]

    state_only = _StateOnly()
    for dom in state_only.doms:
        dom.controlInfo = None  # calling it would raise TypeError
    reader = StatsReader(["state", "cpu", "block", "balloon"], timeout=TIMEOUT)
    for _ in range(3):
        assert reader.collect(state_only).timed_out == frozenset()
