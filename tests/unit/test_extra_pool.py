"""The lane pool: per-call timeouts, per-domain isolation, stuck workers replaced."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from enricher.extra.pool import Call, Lane, LanePool

TIMEOUT = 0.2


def _wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


@pytest.fixture
def pool() -> Iterator[LanePool]:
    lanes = LanePool(2, TIMEOUT, name="test-extra")
    yield lanes
    lanes.stop()


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()  # never leave a worker blocked after the test


def test_every_call_of_every_lane_runs_in_order(pool: LanePool) -> None:
    lanes = [Lane(key, [Call("a", lambda k=key: k + "-a"), Call("b", lambda k=key: k + "-b")])
             for key in ("d1", "d2", "d3", "d4", "d5")]
    pool.run(lanes)
    for lane in lanes:
        assert [(o.label, o.value, o.error) for o in lane.outcomes] == [
            ("a", lane.key + "-a", None), ("b", lane.key + "-b", None)]
        assert lane.timed_out is None and not lane.skipped and lane.not_run == []


def test_an_exception_is_the_call_outcome_not_the_workers_end(pool: LanePool) -> None:
    def broken() -> None:
        raise KeyError("vcpu.0.time")

    lane = Lane("d1", [Call("a", broken), Call("b", lambda: 2)])
    pool.run([lane])
    assert isinstance(lane.outcomes[0].error, KeyError)
    assert lane.outcomes[1].value == 2
    again = Lane("d1", [Call("a", lambda: 3)])
    pool.run([again])
    assert again.outcomes[0].value == 3
    assert pool.workers() == 2


def test_a_hung_call_costs_only_its_own_domain(pool: LanePool, gate: threading.Event) -> None:
    hung = Lane("stuck", [Call("first", lambda: 1), Call("hang", gate.wait),
                          Call("never", lambda: 3)])
    others = [Lane("d%d" % i, [Call("a", lambda i=i: i)]) for i in range(6)]
    pool.run([hung, *others])
    assert hung.timed_out == "hang"
    assert [o.value for o in hung.outcomes] == [1]  # what ran before the hang is kept
    assert hung.not_run == ["never"]
    assert [lane.outcomes[0].value for lane in others] == list(range(6))
    assert pool.busy() == {"stuck"}
    assert pool.workers() == 3  # the stuck worker was replaced


def test_a_busy_domain_is_skipped_until_its_call_returns(pool: LanePool,
                                                         gate: threading.Event) -> None:
    pool.run([Lane("stuck", [Call("hang", gate.wait)])])
    skipped = Lane("stuck", [Call("a", lambda: 1), Call("b", lambda: 2)])
    fine = Lane("d1", [Call("a", lambda: 1)])
    pool.run([skipped, fine])
    assert skipped.skipped and skipped.outcomes == [] and skipped.not_run == ["a", "b"]
    assert fine.outcomes[0].value == 1
    gate.set()
    _wait_for(lambda: not pool.busy())
    _wait_for(lambda: pool.workers() == 2)  # the stuck thread retired
    back = Lane("stuck", [Call("a", lambda: 1)])
    pool.run([back])
    assert back.outcomes[0].value == 1 and not back.skipped


def test_every_worker_stuck_still_lets_the_rest_run(gate: threading.Event) -> None:
    pool = LanePool(1, TIMEOUT, name="test-extra-one")
    try:
        lanes = [Lane("s%d" % i, [Call("hang", gate.wait)]) for i in range(3)]
        lanes.append(Lane("d1", [Call("a", lambda: 1)]))
        pool.run(lanes)
        assert [lane.timed_out for lane in lanes[:3]] == ["hang"] * 3
        assert lanes[3].outcomes[0].value == 1
        assert pool.busy() == {"s0", "s1", "s2"}
    finally:
        gate.set()
        pool.stop()


def test_no_lanes_returns_at_once(pool: LanePool) -> None:
    pool.run([])
    assert pool.busy() == frozenset()


def test_stop_gives_up_queued_lanes(gate: threading.Event) -> None:
    pool = LanePool(1, 5.0, name="test-extra-stop")
    busy = Lane("d1", [Call("hang", gate.wait)])
    queued = Lane("d2", [Call("a", lambda: 1)])
    runner = threading.Thread(target=pool.run, args=([busy, queued],), daemon=True)
    runner.start()
    _wait_for(lambda: busy._started is not None)
    pool.stop()
    gate.set()
    runner.join(10)
    assert not runner.is_alive()
    assert queued.skipped and queued.outcomes == []
    assert busy.outcomes[0].value is True
