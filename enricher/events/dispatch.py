"""The dispatcher: takes events off the queue, delays stops, adds tenancy, fans out."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence

from enricher import exceptions
from enricher.events.worker import QueueWorker
from enricher.health import ErrorCounts
from enricher.libvirt.events import ConnectionClosed, DomainEvent
from enricher.tenancy import model
from enricher.tenancy.resolver import Resolver

LOG = logging.getLogger(__name__)

Sink = Callable[[DomainEvent, model.Tenancy], None]

# Events after which a domain's metadata must be read again: Nova rewrites
# nova:instance on resize and interface attach/detach (metadata_change), and
# a redefinition may carry new metadata (defined: updated, renamed, ...).
REFRESH = frozenset({"metadata_change", "defined"})
_POLL = 0.5  # longest wait for an event while libvirt is away, to reconnect
# Longest wait while connected: events, a closed connection and stop() put an
# item on the queue; this only bounds how long a connection dropped without a
# close callback goes unnoticed when nothing collects.
_IDLE = 5.0


class Dispatcher:
    """Consumes the event queue in one thread, or synchronously in tests.

    A ``stopped`` event is held for ``stop_delay`` seconds: if the domain
    starts again meanwhile (a hard reboot) the stop is dropped, as Nova does.
    Any other event of that domain releases a held stop first, so order is
    kept. Each event then gets its domain's tenancy (cached, or read at once
    for an unknown domain) and goes to every sink.
    """

    def __init__(self, events: queue.Queue, resolver: Resolver, sinks: Sequence[Sink],
                 errors: ErrorCounts, stop_delay: float = 0.0,
                 keep_connected: Callable[[], bool] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._events = events
        self._resolver = resolver
        self._sinks = tuple(sinks)
        self._errors = errors
        self._stop_delay = stop_delay
        self._keep_connected = keep_connected
        self._clock = clock
        self._lock = threading.Lock()
        self._held: dict[str, tuple[float, DomainEvent]] = {}
        self._worker = QueueWorker("event-dispatch", events, self._run, errors.threads)
        self._stop = self._worker.stopping
        self._connected = True  # what keep_connected last said
        self.dispatched = 0
        self.reboots = 0  # stops dropped because the domain started again in time

    @property
    def held(self) -> int:
        """Stops waiting for their delay to pass."""
        return len(self._held)

    def dispatch_pending(self, flush: bool = False) -> int:
        """Handle every queued event now, and held stops whose delay is over.

        With ``flush`` every held stop goes out. For tests and shutdown:
        a started dispatcher handles events by itself.
        """
        handled = 0
        with self._lock:
            while True:
                try:
                    item = self._events.get_nowait()
                except queue.Empty:
                    break
                self._handle(item)
                handled += 1
            self._release(flush)
        return handled

    def start(self) -> None:
        self._worker.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread, then dispatch what is left, held stops included."""
        self._worker.stop(timeout)
        self.dispatch_pending(flush=True)

    def _wait(self) -> float:
        """Seconds until the next held stop is due, at most _IDLE (_POLL while
        libvirt is away)."""
        poll = _IDLE if self._connected else _POLL
        with self._lock:
            if not self._held:
                return poll
            due = min(d for d, _ in self._held.values())
        return max(0.0, min(poll, due - self._clock()))

    def _run(self) -> None:
        if self._keep_connected is not None:
            self._connected = self._keep_connected()
        while not self._stop.is_set():
            try:
                item = self._events.get(timeout=self._wait())
            except queue.Empty:
                item = None
            try:
                with self._lock:
                    self._handle(item)
                    self._release(False)
                if self._keep_connected is not None:
                    self._connected = self._keep_connected()
            except Exception:  # the thread outlives any one bad event; logged
                self._errors.add("events", "unexpected")
                LOG.exception("Unexpected error while dispatching %r", item)

    def _handle(self, item: DomainEvent | ConnectionClosed | None) -> None:
        if item is None:  # stop's wake-up call
            return
        if isinstance(item, ConnectionClosed):
            LOG.info("libvirt closed the connection (%s); reconnecting", item.reason)
            return
        held = self._held.pop(item.uuid, None)
        if held is not None:
            if item.event == "started":
                self.reboots += 1
                LOG.debug("Domain %s started again within %.1f s: a reboot, not a stop",
                          item.uuid, self._stop_delay)
            else:
                self._emit(held[1])
        if item.event == "stopped" and self._stop_delay > 0:
            self._held[item.uuid] = (self._clock() + self._stop_delay, item)
            return
        self._emit(item)

    def _release(self, flush: bool) -> None:
        now = self._clock()
        for uuid, (due, event) in sorted(self._held.items(), key=lambda kv: kv[1][0]):
            if flush or due <= now:
                del self._held[uuid]
                self._emit(event)

    def _emit(self, event: DomainEvent) -> None:
        tenancy = self._tenancy(event)
        for sink in self._sinks:
            sink(event, tenancy)
        self.dispatched += 1

    def _tenancy(self, event: DomainEvent) -> model.Tenancy:
        if event.event in REFRESH:
            self._resolver.invalidate(event.uuid)
        try:
            tenancy = self._resolver.lookup(event.uuid, event.domain)
        except exceptions.LibvirtError as exc:
            if not isinstance(exc, (exceptions.DomainGone, exceptions.LibvirtDisconnected)):
                self._errors.add("events", "tenancy_failed")
                LOG.warning("Cannot read the tenancy of domain %s for its %s event: %s",
                            event.uuid, event.event, exc)
            tenancy = model.NO_TENANCY
        if event.event == "undefined":
            self._resolver.invalidate(event.uuid)
        return tenancy
