"""One libvirt connection per worker thread (of the extra-statistics pool).

Calls on one ``virConnect`` are not independent: while a call into a stuck
QEMU waits for its answer, the answers to other calls made on the same
connection can wait with it (measured with libvirt 9.0: a
``virDomainGetVcpuPinInfo`` for a healthy domain waited until the stuck
``virDomainGetDiskErrors`` of another domain returned). So each worker looks
its domain up on a connection of its own; a worker stuck in a call keeps its
connection to itself, and its replacement opens a new one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from enricher import exceptions
from enricher.libvirt.binding import libvirt
from enricher.libvirt.errors import translated

LOG = logging.getLogger(__name__)


class WorkerConnections:
    """Lazily opened, thread-local libvirt connections."""

    def __init__(self, opener: Callable[[], Any]) -> None:
        self._opener = opener
        self._local = threading.local()

    def domain(self, uuid: str) -> Any:
        """``uuid``'s virDomain on this thread's connection (opened on first use)."""
        try:
            with translated():
                conn = getattr(self._local, "conn", None)
                if conn is None:
                    conn = self._local.conn = self._opener()
                return conn.lookupByUUIDString(uuid)
        except exceptions.LibvirtError as exc:
            self.failed(exc)
            raise

    def failed(self, exc: BaseException) -> None:
        """Forget this thread's connection when ``exc`` says it broke."""
        if isinstance(exc, exceptions.LibvirtDisconnected):
            self.close()

    def close(self) -> None:
        """Close this thread's connection, if it has one."""
        conn, self._local.conn = getattr(self._local, "conn", None), None
        if conn is not None:
            try:
                conn.close()
            except libvirt.libvirtError:
                LOG.debug("Closing a worker's libvirt connection failed", exc_info=True)


def opener(uri: str, read_only: bool) -> Callable[[], Any]:
    """A function that opens ``uri`` the way the main connection does."""
    def open_connection() -> Any:
        return (libvirt.openReadOnly if read_only else libvirt.open)(uri)
    return open_connection
