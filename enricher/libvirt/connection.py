"""The libvirt connection: open on demand, reconnect with back-off."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from enricher import exceptions
from enricher.backoff import Backoff
from enricher.libvirt.binding import libvirt

if TYPE_CHECKING:
    from oslo_config import cfg

LOG = logging.getLogger(__name__)


def _quiet_errors(_ctx: Any, _err: Any) -> None:
    """Swallow libvirt's default print-to-stderr; we raise and log ourselves."""


_CLOSE_REASONS = {0: "error", 1: "eof", 2: "keepalive", 3: "client"}


def _close_quietly(conn: Any) -> None:
    """Close a connection we are done with, without its close callback firing."""
    for step in (conn.unregisterCloseCallback, conn.close):
        try:
            step()
        except libvirt.libvirtError as exc:
            LOG.debug("Closing a libvirt connection: %s failed: %s", step.__name__, exc)


class Connection:
    """A shared libvirt connection, reopened with back-off when it drops.

    ``get()`` returns an open ``virConnect`` or raises LibvirtUnavailable;
    ``up`` says whether the last attempt to use libvirt succeeded. With
    ``keepalive`` = (interval, count) and an event loop running, libvirt
    notices a dead daemon by itself; its close callback marks the connection
    closed and runs the ``on_close`` hooks, and the next ``get()`` reopens it.
    """

    def __init__(self, uri: str, read_only: bool = True,
                 backoff: Backoff | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if libvirt is None:
            raise exceptions.LibvirtUnavailable("libvirt-python is not installed")
        libvirt.registerErrorHandler(_quiet_errors, None)
        self.uri = uri
        self.read_only = read_only
        self._backoff = backoff or Backoff(1.0, 60.0)
        self._clock = clock
        self._lock = threading.Lock()
        self._conn: Any = None
        self._opening = False
        self._retry_at = 0.0
        self._logged_down = False
        self.up = False
        self.keepalive: tuple[int, int] | None = None
        self._closed: Any = None  # the virConnect libvirt said was closed
        self._closed_reason = ""
        self.on_reconnect: list[Callable[[Any], None]] = []
        self.on_close: list[Callable[[str], None]] = []

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> Connection:
        return cls(conf.libvirt.connection_uri, conf.libvirt.read_only,
                   Backoff(1.0, float(conf.libvirt.reconnect_max_interval)))

    def get(self) -> Any:
        """An open connection; LibvirtUnavailable while libvirtd is away.

        LibvirtDisconnected when an ``on_reconnect`` hook finds the new
        connection broken already.

        Opening happens outside the lock: while one caller waits for a slow
        or hung daemon, the others are told at once that libvirt is away.
        """
        with self._lock:
            if self._conn is not None and self._conn is not self._closed:
                return self._conn
            stale, self._conn = self._conn, None
            if stale is not None:
                self._mark_down("libvirt closed the connection (%s)" % self._closed_reason)
            now = self._clock()
            busy = None
            if self._opening:
                busy = "still connecting to libvirt at %s" % self.uri
            elif now < self._retry_at:
                busy = ("libvirt at %s is unreachable; next attempt in %.1f s"
                        % (self.uri, self._retry_at - now))
            else:
                self._opening = True
        if stale is not None:
            _close_quietly(stale)
        if busy is not None:
            raise exceptions.LibvirtUnavailable(busy)
        try:
            opener = libvirt.openReadOnly if self.read_only else libvirt.open
            conn = opener(self.uri)
        except libvirt.libvirtError as exc:
            with self._lock:
                self._opening = False
                self._retry_at = self._clock() + self._backoff.next_delay()
                self._mark_down("cannot connect to %s: %s" % (self.uri, exc))
            raise exceptions.LibvirtUnavailable(str(exc)) from exc
        with self._lock:
            self._opening = False
            self._conn = conn
            self._watch(conn)
            self._backoff.reset()
            self._retry_at = 0.0
            self.up = True
            if self._logged_down:
                LOG.warning("Reconnected to libvirt at %s", self.uri)
            else:
                LOG.info("Connected to libvirt at %s", self.uri)
            self._logged_down = False
        for callback in self.on_reconnect:
            callback(conn)
        return conn

    @property
    def connected(self) -> bool:
        """True while a connection is open and libvirt has not closed it."""
        conn = self._conn
        return conn is not None and conn is not self._closed

    def _watch(self, conn: Any) -> None:
        """Have libvirt probe the peer (keepalive) and tell us when it closes."""
        if self.keepalive:
            try:
                conn.setKeepAlive(*self.keepalive)
            except libvirt.libvirtError as exc:
                LOG.debug("No keepalive on %s: %s", self.uri, exc)
        try:
            conn.registerCloseCallback(self._on_closed, None)
        except libvirt.libvirtError as exc:
            LOG.debug("No close callback on %s: %s", self.uri, exc)

    def _on_closed(self, conn: Any, reason: int, _opaque: Any) -> None:
        """libvirt's close callback (event loop thread): flag, never block."""
        self._closed_reason = _CLOSE_REASONS.get(reason, str(reason))
        self._closed = conn
        self.up = False
        for callback in self.on_close:
            callback(self._closed_reason)

    def mark_success(self) -> None:
        self.up = True

    def drop(self, reason: str) -> None:
        """Forget the current connection after it failed; reopen later."""
        with self._lock:
            conn, self._conn = self._conn, None
            self._retry_at = self._clock() + self._backoff.next_delay()
            self._mark_down(reason)
        if conn is not None:
            _close_quietly(conn)

    def _mark_down(self, reason: str) -> None:
        self.up = False
        if not self._logged_down:
            LOG.error("libvirt is unavailable: %s", reason)
            self._logged_down = True

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            _close_quietly(conn)
