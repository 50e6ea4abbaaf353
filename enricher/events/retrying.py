"""A sink that sends items from a bounded queue in one thread, retrying with back-off.

Shared by the webhook and the Masakari sink: ``submit()`` never blocks (a
full queue drops the item, counted); a send that raises ``Retry`` is tried
again after a back-off delay until ``retries`` further attempts or
``retry_window`` seconds since submission are used up, then dropped and
counted; ``Reject`` drops it at once.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from enricher.backoff import Backoff
from enricher.events.worker import QueueWorker
from enricher.health import ThreadHealth

LOG = logging.getLogger(__name__)



class Retry(Exception):
    """A failed send worth trying again (5xx, connection error, timeout)."""


class Reject(Exception):
    """A failed send that trying again cannot fix (e.g. a 400)."""


class RetryingSink:
    """Sends queued items with ``send`` in a background thread named ``name``."""

    def __init__(self, name: str, send: Callable[[Any], None], *, queue_size: int = 1000,
                 retries: int | None = 3, retry_window: float | None = None,
                 retry_delay: float = 1.0, retry_max: float = 30.0, jitter: float = 0.0,
                 threads: ThreadHealth | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self._send = send
        self._retries = retries
        self._window = retry_window
        self._retry_delay = retry_delay
        self._retry_max = max(retry_max, retry_delay)
        self._jitter = jitter
        self._clock = clock
        self._queue: queue.Queue[tuple[float, Any] | None] = queue.Queue(maxsize=queue_size)
        self._worker = QueueWorker(name, self._queue, self._run, threads)
        self._stop = self._worker.stopping
        self._lock = threading.Lock()
        self._failing = False
        self.sent = 0
        self.failed = 0  # attempts that failed, retried or not
        self.dropped = 0  # items given up: queue full, rejected or out of retries
        self.last_success = 0.0  # Unix time of the last delivery, 0 before any

    @property
    def queued(self) -> int:
        return self._queue.qsize()

    def _count(self, field: str) -> None:
        with self._lock:
            setattr(self, field, getattr(self, field) + 1)

    def _warn(self, message: str, *args: Any) -> None:
        if not self._failing:
            LOG.warning(message, *args)
            self._failing = True

    def submit(self, item: Any) -> bool:
        """Queue ``item``; drop it (counted) and return False if the queue is full."""
        try:
            self._queue.put_nowait((self._clock(), item))
        except queue.Full:
            self._count("dropped")
            self._warn("%s: queue full, dropping items until it drains", self.name)
            return False
        return True

    def start(self) -> None:
        self._worker.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._worker.stop(timeout)
        left = self._queue.qsize()
        if left:
            LOG.info("%s: %d items were not sent before stopping", self.name, left)

    def _run(self) -> None:
        """Sleep until an item comes (``stop()`` wakes it with ``None``), send it."""
        while not self._stop.is_set():
            entry = self._queue.get()
            if entry is not None:
                self.deliver(entry[1], entry[0])

    def _next_wait(self, backoff: Backoff, attempt: int, submitted: float) -> float | None:
        """Seconds before the next attempt, or None when none is left."""
        if self._retries is not None and attempt >= self._retries:
            return None
        delay = backoff.next_delay()
        if self._window is not None:
            left = submitted + self._window - self._clock()
            if left <= 0:
                return None
            delay = min(delay, left)  # one last attempt at the window's end
        return delay

    def deliver(self, item: Any, submitted: float | None = None) -> bool:
        """Send ``item`` with retries; True if it was delivered."""
        if submitted is None:
            submitted = self._clock()
        backoff = Backoff(self._retry_delay, self._retry_max, jitter=self._jitter)
        attempt = 0
        while True:
            try:
                self._send(item)
            except Reject as exc:
                self._count("failed")
                self._count("dropped")
                LOG.warning("%s refused an item, dropping it: %s", self.name, exc)
                return False
            except Retry as exc:
                self._count("failed")
                wait = self._next_wait(backoff, attempt, submitted)
                if wait is None or self._stop.wait(wait):
                    self._count("dropped")
                    self._warn("%s: cannot send (dropping items until it works): %s",
                               self.name, exc)
                    return False
                attempt += 1
                continue
            with self._lock:
                self.sent += 1
                self.last_success = time.time()
            if self._failing:
                LOG.info("%s: sending works again", self.name)
                self._failing = False
            return True
