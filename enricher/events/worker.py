"""A daemon thread that consumes a queue, woken by ``None`` when asked to stop."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any

from enricher.health import ThreadHealth, supervised


class QueueWorker:
    """Runs ``run`` in a named daemon thread (supervised when given ``threads``);
    ``stopping`` tells it to end."""

    def __init__(self, name: str, wake: queue.Queue[Any], run: Callable[[], None],
                 threads: ThreadHealth | None = None) -> None:
        self.stopping = threading.Event()
        self._threads = threads
        self._name = name
        self._wake = wake
        self._run = run
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self.stopping.clear()
            if self._threads is not None:  # restarted if it dies, and counted
                self._thread = supervised(self._name, self._run, self.stopping,
                                          self._threads)
            else:
                self._thread = threading.Thread(target=self._run, name=self._name,
                                                daemon=True)
                self._thread.start()

    def stop(self, timeout: float) -> None:
        """Ask the thread to end, wake it with ``None`` and wait for it."""
        self.stopping.set()
        if self._thread is not None:
            with contextlib.suppress(queue.Full):
                self._wake.put_nowait(None)
            self._thread.join(timeout)
            self._thread = None
