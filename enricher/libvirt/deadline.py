"""libvirt calls with a deadline: a call that does not answer in time is left behind.

libvirt has no timeout on a QEMU monitor command: a bulk stats call that asks
a stopped or wedged QEMU for its block or balloon figures waits for as long as
that QEMU does. Here such a call runs in a daemon thread of its own; when it
has not returned by the deadline, the caller gets ``LibvirtTimeout`` and the
thread is left to finish (its result dropped) whenever QEMU answers. While it
waits it holds that domain's libvirt job, so the next call made with
``VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT`` returns at once, without the
stuck domain's monitor figures.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from enricher import exceptions

T = TypeVar("T")

# Calls left behind at once, at most: each holds one of libvirtd's requests of
# this client (max_client_requests, 5 by default), which events and metadata
# reads need too.
MAX_PENDING = 3


class DeadlineCaller:
    """Runs callables with a deadline; counts the calls still left behind."""

    def __init__(self, timeout: float, max_pending: int = MAX_PENDING,
                 name: str = "libvirt-call") -> None:
        self.timeout = timeout
        self._max_pending = max_pending
        self._name = name
        self._lock = threading.Lock()
        self._pending = 0

    @property
    def pending(self) -> int:
        """Calls that timed out and have not returned yet."""
        with self._lock:
            return self._pending

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)``, or LibvirtTimeout once ``timeout`` seconds have passed.

        With ``timeout`` <= 0 the call is made in the caller's thread, unbounded.
        Exceptions of ``fn`` are raised in the caller.
        """
        if self.timeout <= 0:
            return fn(*args)
        with self._lock:
            if self._pending >= self._max_pending:
                raise exceptions.LibvirtTimeout(
                    "%d earlier libvirt calls are still unanswered" % self._pending)
        done = threading.Event()
        box: dict[str, Any] = {}
        state = {"abandoned": False}

        def run() -> None:
            try:
                box["result"] = fn(*args)
            except BaseException as exc:  # noqa: BLE001 - raised again in the caller
                box["error"] = exc
            with self._lock:
                done.set()
                if state["abandoned"]:
                    self._pending -= 1

        threading.Thread(target=run, name=self._name, daemon=True).start()
        if not done.wait(self.timeout):
            with self._lock:
                if not done.is_set():
                    state["abandoned"] = True
                    self._pending += 1
                    raise exceptions.LibvirtTimeout(
                        "libvirt did not answer within %.1f s" % self.timeout)
        if "error" in box:
            raise box["error"]
        return box["result"]
