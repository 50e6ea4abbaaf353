"""A small pool of daemon threads that runs per-domain lanes of calls, each call timed out.

A lane is the list of calls for one domain; they run one after another on one
worker, so a domain never has two of our calls in flight. When a call outlives
the timeout, ``run`` stops waiting for its lane, marks the domain busy and
starts a replacement worker; the stuck thread retires when libvirt finally
answers, and until then the domain's lanes are skipped. Threads are daemons: a
call that never returns cannot hold up the process at exit.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class Call:
    """One labelled call of a lane."""

    label: str
    fn: Callable[[], Any]


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    """What one call gave: its value, or the exception it raised."""

    label: str
    value: Any = None
    error: BaseException | None = None


@dataclasses.dataclass(eq=False)
class Lane:
    """The calls for one domain and, after ``run``, what became of them."""

    key: str
    calls: list[Call]
    outcomes: list[Outcome] = dataclasses.field(default_factory=list)
    timed_out: str | None = None  # label of the call that outlived the timeout
    skipped: bool = False  # not run: an earlier call for this key is still stuck
    _started: float | None = None  # start of the call now running
    _finished: bool = False
    _abandoned: bool = False

    @property
    def not_run(self) -> list[str]:
        """Labels of the calls that never ran (after a timeout, or skipped)."""
        done = len(self.outcomes) + (1 if self.timed_out else 0)
        return [call.label for call in self.calls[done:]]


class LanePool:
    """``size`` worker threads; ``run`` blocks until every lane finished or timed out."""

    def __init__(self, size: int, timeout: float, name: str = "extra",
                 clock: Callable[[], float] = time.monotonic,
                 on_exit: Callable[[], None] | None = None) -> None:
        self._size = size
        self._timeout = timeout
        self._name = name
        self._clock = clock
        self._on_exit = on_exit  # run by each worker thread as it ends
        self._cond = threading.Condition()
        self._queue: collections.deque[Lane] = collections.deque()
        self._busy: set[str] = set()
        self._stopping = False
        self._spawned = 0
        self._workers = 0
        for _ in range(size):
            self._spawn()

    @property
    def timeout(self) -> float:
        return self._timeout

    def busy(self) -> frozenset[str]:
        """Keys whose abandoned call has not returned yet."""
        with self._cond:
            return frozenset(self._busy)

    def workers(self) -> int:
        """Live worker threads, stuck ones included."""
        with self._cond:
            return self._workers

    def run(self, lanes: Iterable[Lane]) -> None:
        """Run the lanes; return once each has finished, timed out or been skipped."""
        with self._cond:
            todo = []
            for lane in lanes:
                if lane.key in self._busy:
                    lane.skipped = True
                else:
                    todo.append(lane)
            self._queue.extend(todo)
            self._cond.notify_all()
            while True:
                now = self._clock()
                deadline = None
                for lane in todo:
                    if lane._finished or lane._started is None:
                        continue
                    expires = lane._started + self._timeout
                    if expires <= now:
                        self._abandon(lane)
                    else:
                        deadline = expires if deadline is None else min(deadline, expires)
                if all(lane._finished for lane in todo):
                    return
                self._cond.wait(None if deadline is None else deadline - now)

    def stop(self) -> None:
        """Let idle workers exit; stuck ones exit when their call returns.

        Lanes still queued are given up (``skipped``), so a ``run`` in progress
        returns once the calls already running end or time out.
        """
        with self._cond:
            self._stopping = True
            for lane in self._queue:
                lane.skipped = lane._finished = True
            self._queue.clear()
            self._cond.notify_all()

    def _abandon(self, lane: Lane) -> None:
        lane.timed_out = lane.calls[len(lane.outcomes)].label
        lane._abandoned = lane._finished = True
        self._busy.add(lane.key)
        LOG.warning("%s call for %s did not return within %.1f s; skipping this domain "
                    "until it does", lane.timed_out, lane.key, self._timeout)
        if not self._stopping:
            self._spawn()

    def _spawn(self) -> None:
        self._spawned += 1
        self._workers += 1
        thread = threading.Thread(target=self._work, daemon=True,
                                  name="%s-%d" % (self._name, self._spawned))
        thread.start()

    def _work(self) -> None:
        try:
            while True:
                with self._cond:
                    while not self._queue and not self._stopping:
                        self._cond.wait()
                    if self._stopping:
                        self._workers -= 1
                        return
                    lane = self._queue.popleft()
                if not self._run_lane(lane):
                    return
        finally:
            if self._on_exit is not None:
                self._on_exit()

    def _run_lane(self, lane: Lane) -> bool:
        """Run one lane; False when it was abandoned and this thread must retire."""
        for call in lane.calls:
            with self._cond:
                lane._started = self._clock()
                self._cond.notify_all()
            try:
                outcome = Outcome(call.label, value=call.fn())
            except Exception as exc:  # noqa: BLE001 - handed to the caller, who classifies and logs
                outcome = Outcome(call.label, error=exc)
            with self._cond:
                if lane._abandoned:
                    self._busy.discard(lane.key)
                    self._workers -= 1
                    LOG.info("The stuck %s call for %s returned", call.label, lane.key)
                    return False
                lane._started = None
                lane.outcomes.append(outcome)
        with self._cond:
            lane._finished = True
            self._cond.notify_all()
        return True
