"""The UDP socket to the StatsD server: resolved, connected, never blocking a send.

The socket is connected, so the kernel reports an ICMP "port unreachable"
for an earlier datagram as ECONNREFUSED: on a later send (that datagram is
not sent), or as the socket's pending error, read before each send. A target
that is down shows as refusals, not as silence. A name is resolved again
after a failure to resolve or send and every ``RESOLVE_EVERY`` seconds.
"""

from __future__ import annotations

import collections
import dataclasses
import errno
import logging
import socket
import time
from collections.abc import Callable, Sequence

LOG = logging.getLogger(__name__)

RESOLVE_EVERY = 300.0
# enricher_errors_total{source="statsd"} kinds, one per datagram not sent.
UNRESOLVABLE = "unresolvable"
REFUSED = "refused"
WOULD_BLOCK = "would_block"
SEND_FAILED = "send_failed"


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one send's datagrams."""

    sent: int
    failed: collections.Counter[str]  # kind -> datagrams not sent
    refused_before: int = 0  # refusals of earlier datagrams, reported since

    @property
    def failures(self) -> int:
        return sum(self.failed.values())

    @property
    def ok(self) -> bool:
        return not self.failed and not self.refused_before


Resolve = Callable[[str, int], Sequence[tuple]]


def _resolve(host: str, port: int) -> Sequence[tuple]:
    return socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)


class UdpSender:
    """Sends datagrams to ``host``:``port``; the caller's thread may block only to resolve."""

    def __init__(self, host: str, port: int, resolve: Resolve = _resolve,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.host = host
        self.port = port
        self._resolve = resolve
        self._clock = clock
        self._sock: socket.socket | None = None
        self._resolved_at = 0.0

    def _socket(self) -> socket.socket:
        if self._sock is not None and self._clock() - self._resolved_at < RESOLVE_EVERY:
            return self._sock
        self.close()
        family, type_, proto, _name, address = self._resolve(self.host, self.port)[0]
        sock = socket.socket(family, type_, proto)
        try:
            sock.setblocking(False)
            sock.connect(address)  # UDP: sets the peer, sends nothing
        except OSError:
            sock.close()
            raise
        self._sock, self._resolved_at = sock, self._clock()
        return sock

    def send(self, datagrams: Sequence[bytes]) -> Outcome:
        """Send every datagram once; what failed, by kind, is counted, never raised."""
        failed: collections.Counter[str] = collections.Counter()
        refused_before = self._pending_refusal()
        if not datagrams:
            return Outcome(0, failed, refused_before)
        try:
            sock = self._socket()
        except (socket.gaierror, UnicodeError) as exc:
            LOG.debug("Cannot resolve StatsD host %s: %s", self.host, exc)
            failed[UNRESOLVABLE] = len(datagrams)
            return Outcome(0, failed, refused_before)
        except OSError as exc:
            LOG.debug("Cannot open a socket to %s:%d: %s", self.host, self.port, exc)
            failed[SEND_FAILED] = len(datagrams)
            return Outcome(0, failed, refused_before)
        sent = 0
        for datagram in datagrams:
            try:
                sock.send(datagram)
            except BlockingIOError:
                failed[WOULD_BLOCK] += 1  # the socket buffer is full: drop, never wait
            except ConnectionRefusedError:
                failed[REFUSED] += 1
            except OSError as exc:
                failed[SEND_FAILED] += 1
                LOG.debug("StatsD send failed: %s", exc)
                if exc.errno not in (errno.EMSGSIZE, errno.ENOBUFS):
                    self.close()  # resolve again next time
                    remaining = len(datagrams) - sent - failed.total()
                    failed[SEND_FAILED] += remaining
                    break
            else:
                sent += 1
        return Outcome(sent, failed, refused_before)

    def _pending_refusal(self) -> int:
        """1 if the kernel holds an ECONNREFUSED for an earlier datagram (now cleared)."""
        if self._sock is None:
            return 0
        code = self._sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        return 1 if code == errno.ECONNREFUSED else 0

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
