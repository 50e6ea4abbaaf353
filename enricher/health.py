"""The enricher's own health: error counters and background threads, shared by every part."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable

LOG = logging.getLogger(__name__)


class ErrorCounts:
    """Thread-safe ``(source, kind) -> count``, exported as enricher_errors_total."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()
        self.threads = ThreadHealth()  # the background threads, for the same readers

    def add(self, source: str, kind: str, amount: int = 1) -> None:
        with self._lock:
            self._counts[(source, kind)] += amount

    def snapshot(self) -> dict[tuple[str, str], int]:
        with self._lock:
            return dict(self._counts)

    def get(self, source: str, kind: str) -> int:
        with self._lock:
            return self._counts[(source, kind)]


class ThreadHealth:
    """Which background threads run, and how often each was restarted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._alive: dict[str, bool] = {}
        self._restarts: Counter[str] = Counter()

    def set_alive(self, name: str, alive: bool) -> None:
        with self._lock:
            self._alive[name] = alive

    def restarted(self, name: str) -> None:
        with self._lock:
            self._restarts[name] += 1

    def snapshot(self) -> dict[str, tuple[bool, int]]:
        """``name -> (running, restarts)`` of every thread started so far."""
        with self._lock:
            return {n: (a, self._restarts[n]) for n, a in sorted(self._alive.items())}


# Seconds a crashed thread waits before it runs again.
RESTART_DELAY = 1.0


def supervised(name: str, body: Callable[[], None], stop: threading.Event,
               health: ThreadHealth, restart_delay: float = RESTART_DELAY
               ) -> threading.Thread:
    """Start ``body`` in a daemon thread that is run again whenever it dies.

    ``body`` is a loop that returns once ``stop`` is set. If it raises
    (anything, ``SystemExit`` included) or returns while ``stop`` is clear,
    the failure is logged with its traceback, counted in ``health`` and,
    after ``restart_delay`` seconds, ``body`` runs again in the same thread.
    """
    def guard() -> None:
        while True:
            health.set_alive(name, True)
            try:
                body()
            except BaseException:
                LOG.exception("Background thread %s crashed; restarting it in %.0f s",
                              name, restart_delay)
            else:
                if stop.is_set():
                    health.set_alive(name, False)
                    return
                LOG.error("Background thread %s ended unexpectedly; restarting it in "
                          "%.0f s", name, restart_delay)
            health.set_alive(name, False)
            if stop.wait(restart_delay):
                return
            health.restarted(name)

    thread = threading.Thread(target=guard, name=name, daemon=True)
    thread.start()
    return thread
