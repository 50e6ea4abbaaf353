"""libvirt's event loop thread, and domain event callbacks that only enqueue.

libvirt delivers events (and notices dead connections) only while some thread
runs ``virEventRunDefaultImpl()``. ``register_default_impl()`` must be called
before the first connection is opened; ``EventLoop`` then runs the loop in one
daemon thread. The callbacks registered by ``Subscription`` turn each libvirt
callback into a ``DomainEvent`` and put it on a queue: no RPC, no locks, no
tenancy look-ups happen in the loop thread.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from enricher import exceptions
from enricher.health import ErrorCounts, ThreadHealth, supervised
from enricher.libvirt import errors, event_types
from enricher.libvirt.binding import libvirt

LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class DomainEvent:
    """One libvirt domain event, as the callback saw it."""

    uuid: str
    name: str
    event: str  # one of event_types.EVENT_NAMES
    detail: str  # "" when the event has none
    timestamp: float  # Unix time at which the callback ran
    attrs: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    # The virDomain the event is about, to read its metadata later.
    domain: Any = dataclasses.field(default=None, compare=False, repr=False)


@dataclasses.dataclass(frozen=True, slots=True)
class ConnectionClosed:
    """libvirt told us (close callback) that the connection is gone."""

    reason: str


# --- names of libvirt's enum values ------------------------------------------

def _enum(prefix: str) -> dict[int, str]:
    """``{value: lower-case name}`` of libvirt's constants named ``prefix*``."""
    if libvirt is None:
        return {}
    return {getattr(libvirt, n): n[len(prefix):].lower() for n in dir(libvirt)
            if n.startswith(prefix) and not n.endswith("_LAST")}


LIFECYCLE_NAMES = tuple(name for name, _ in event_types.LIFECYCLE)
LIFECYCLE_DETAILS = {
    index: _enum("VIR_DOMAIN_EVENT_%s_" % name.upper())
    for index, name in enumerate(LIFECYCLE_NAMES)
}
WATCHDOG_ACTIONS = _enum("VIR_DOMAIN_EVENT_WATCHDOG_")
IO_ERROR_ACTIONS = _enum("VIR_DOMAIN_EVENT_IO_ERROR_")
METADATA_TYPES = _enum("VIR_DOMAIN_METADATA_")
AGENT_STATES = _enum("VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_STATE_")
AGENT_REASONS = _enum("VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_REASON_")
JOB_OPERATIONS = _enum("VIR_DOMAIN_JOB_OPERATION_")


def _name(names: Mapping[int, str], value: int) -> str:
    return names.get(value, str(value))


def lifecycle(event: int, detail: int) -> tuple[str, str]:
    """(event, detail) label values of a lifecycle callback's integers."""
    if 0 <= event < len(LIFECYCLE_NAMES):
        return LIFECYCLE_NAMES[event], _name(LIFECYCLE_DETAILS[event], detail)
    return "lifecycle_%d" % event, str(detail)


# --- callbacks ----------------------------------------------------------------
# Each converter takes the callback's arguments between ``dom`` and ``opaque``
# and returns (event, detail, attrs).

Converted = tuple[str, str, dict[str, Any]]


def _lifecycle(event: int, detail: int) -> Converted:
    return (*lifecycle(event, detail), {})


def _reboot() -> Converted:
    return "reboot", "", {}


def _watchdog(action: int) -> Converted:
    return "watchdog", _name(WATCHDOG_ACTIONS, action), {}


def _io_error(srcpath: str, devalias: str, action: int) -> Converted:
    return ("io_error", _name(IO_ERROR_ACTIONS, action),
            {"path": srcpath, "device": devalias})


def _io_error_reason(srcpath: str, devalias: str, action: int, reason: str) -> Converted:
    return ("io_error_reason", reason or "",
            {"path": srcpath, "device": devalias,
             "action": _name(IO_ERROR_ACTIONS, action)})


def _metadata_change(mtype: int, nsuri: str | None) -> Converted:
    return "metadata_change", _name(METADATA_TYPES, mtype), {"namespace": nsuri or ""}


def _device(event: str) -> Callable[[str], Converted]:
    def convert(devalias: str) -> Converted:
        return event, "", {"device": devalias}
    return convert


def _control_error() -> Converted:
    return "control_error", "", {}


def _job_completed(params: Mapping[str, Any]) -> Converted:
    operation = params.get("operation")
    detail = "" if operation is None else _name(JOB_OPERATIONS, int(operation))
    return "job_completed", detail, {}


def _agent_lifecycle(state: int, reason: int) -> Converted:
    return ("agent_lifecycle", _name(AGENT_STATES, state),
            {"reason": _name(AGENT_REASONS, reason)})


# (libvirt event ID constant, converter); IDs this libvirt lacks are skipped.
CALLBACKS: tuple[tuple[str, Callable[..., Converted]], ...] = (
    ("VIR_DOMAIN_EVENT_ID_LIFECYCLE", _lifecycle),
    ("VIR_DOMAIN_EVENT_ID_REBOOT", _reboot),
    ("VIR_DOMAIN_EVENT_ID_WATCHDOG", _watchdog),
    ("VIR_DOMAIN_EVENT_ID_IO_ERROR", _io_error),
    ("VIR_DOMAIN_EVENT_ID_IO_ERROR_REASON", _io_error_reason),
    ("VIR_DOMAIN_EVENT_ID_METADATA_CHANGE", _metadata_change),
    ("VIR_DOMAIN_EVENT_ID_DEVICE_ADDED", _device("device_added")),
    ("VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED", _device("device_removed")),
    ("VIR_DOMAIN_EVENT_ID_DEVICE_REMOVAL_FAILED", _device("device_removal_failed")),
    ("VIR_DOMAIN_EVENT_ID_CONTROL_ERROR", _control_error),
    ("VIR_DOMAIN_EVENT_ID_JOB_COMPLETED", _job_completed),
    ("VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE", _agent_lifecycle),
)


class Subscription:
    """Registers the domain event callbacks on every new connection.

    Pass ``register`` to ``Connection.on_reconnect``. The callbacks run in
    the event loop thread and only put ``DomainEvent`` objects on ``events``
    (without blocking: a full queue drops the event and counts it).
    """

    def __init__(self, events: queue.Queue, errors: ErrorCounts,
                 clock: Callable[[], float] = time.time) -> None:
        self._events = events
        self._errors = errors
        self._clock = clock
        self._lock = threading.Lock()
        self._conn: Any = None
        self._ids: list[int] = []
        self.registrations = 0
        self.dropped = 0

    @property
    def reconnects(self) -> int:
        """How often the callbacks were registered again on a new connection."""
        return max(0, self.registrations - 1)

    def put(self, item: DomainEvent | ConnectionClosed) -> None:
        """Enqueue without blocking the caller (the event loop thread)."""
        try:
            self._events.put_nowait(item)
        except queue.Full:
            self.dropped += 1
            self._errors.add("events", "queue_full")

    def _callback(self, convert: Callable[..., Converted]) -> Callable[..., None]:
        def callback(_conn: Any, dom: Any, *args: Any) -> None:
            # args ends with the opaque we registered (None). An exception
            # here would be printed by libvirt-python, so none may escape.
            try:
                event, detail, attrs = convert(*args[:-1])
                item = DomainEvent(dom.UUIDString(), dom.name(), event, detail,
                                   self._clock(), MappingProxyType(attrs), dom)
            except (libvirt.libvirtError, TypeError, ValueError) as exc:
                self._errors.add("events", "unreadable")
                LOG.warning("Ignoring a libvirt event that cannot be read: %s", exc)
                return
            self.put(item)
        return callback

    def register(self, conn: Any) -> None:
        """Register every callback on ``conn``, unless already done on it.

        Raises LibvirtDisconnected when the connection breaks meanwhile.
        """
        with self._lock:
            if conn is self._conn:
                return
            ids = []
            for constant, convert in CALLBACKS:
                event_id = getattr(libvirt, constant, None)
                if event_id is None:
                    continue
                try:
                    ids.append(conn.domainEventRegisterAny(
                        None, event_id, self._callback(convert), None))
                except libvirt.libvirtError as exc:
                    error = errors.classify(exc)
                    if isinstance(error, exceptions.LibvirtDisconnected):
                        raise error from exc
                    LOG.warning("libvirt does not deliver %s events: %s",
                                constant[len("VIR_DOMAIN_EVENT_ID_"):].lower(), exc)
            self._conn, self._ids = conn, ids
            self.registrations += 1
        if self.registrations > 1:
            LOG.info("Domain event callbacks registered again after a reconnect")

    def close(self) -> None:
        """Deregister from the current connection (best effort: it may be gone)."""
        with self._lock:
            conn, ids = self._conn, self._ids
            self._conn, self._ids = None, []
        for callback_id in ids:
            try:
                conn.domainEventDeregisterAny(callback_id)
            except libvirt.libvirtError as exc:
                LOG.debug("Deregistering event callback %d failed: %s", callback_id, exc)


# --- the loop thread ------------------------------------------------------------

_impl_lock = threading.Lock()
_impl_registered = False


def register_default_impl() -> None:
    """Register libvirt's default event loop implementation, once per process.

    Must happen before the connection that should deliver events is opened.
    """
    global _impl_registered
    with _impl_lock:
        if not _impl_registered:
            libvirt.virEventRegisterDefaultImpl()
            _impl_registered = True


def _noop_timer(_timer: int, _opaque: Any) -> None:
    """The wake-up timer's callback: waking the loop is all it is for."""


class EventLoop:
    """Runs ``virEventRunDefaultImpl()`` in one daemon thread while it is used.

    libvirt allows one loop runner per process, so there is one EventLoop
    (``default_loop()``); each user ``acquire()``s it and ``release()``s it,
    and the thread stops when the last user releases it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._timer = -1

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def acquire(self, threads: ThreadHealth | None = None) -> None:
        """Use the loop; the first user starts its thread (supervised in
        ``threads`` when given: restarted if it dies, and counted)."""
        with self._lock:
            self._users += 1
            if self._thread is not None:
                return
            register_default_impl()
            self._stop = threading.Event()
            # A disabled timer to wake the loop with at stop.
            self._timer = libvirt.virEventAddTimeout(-1, _noop_timer, None)
            stop = self._stop
            if threads is not None:
                self._thread = supervised("libvirt-event-loop",
                                          lambda: self._run(stop), stop, threads)
            else:
                self._thread = threading.Thread(target=self._run, args=(stop,),
                                                name="libvirt-event-loop", daemon=True)
                self._thread.start()

    def release(self, timeout: float = 5.0) -> None:
        with self._lock:
            self._users -= 1
            if self._users > 0 or self._thread is None:
                return
            thread, self._thread = self._thread, None
            self._stop.set()
            libvirt.virEventUpdateTimeout(self._timer, 0)
            thread.join(timeout)
            if thread.is_alive():
                LOG.warning("The libvirt event loop thread did not stop in %.0f s",
                            timeout)
            libvirt.virEventRemoveTimeout(self._timer)
            self._timer = -1

    @staticmethod
    def _run(stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                libvirt.virEventRunDefaultImpl()
            except libvirt.libvirtError as exc:
                LOG.error("The libvirt event loop failed: %s", exc)
                stop.wait(1.0)


_DEFAULT_LOOP = EventLoop()


def default_loop() -> EventLoop:
    """The process's one libvirt event loop."""
    return _DEFAULT_LOOP
