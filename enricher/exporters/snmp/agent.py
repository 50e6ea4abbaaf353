"""The AgentX subagent session: connect to snmpd, register the MIB, answer from the view.

One supervised thread owns the session: it connects (Unix socket or TCP),
opens a session, registers the base OID and answers the master's requests
from the latest :class:`~enricher.exporters.snmp.index.View`, which the
sampler's thread swaps in once per snapshot. When snmpd goes away (EOF,
a Close PDU, unanswered pings) the thread reconnects every
``reconnect_interval`` seconds and registers again. Notifications are sent
from the caller's thread under the same send lock.
"""

from __future__ import annotations

import itertools
import logging
import select
import socket
import threading
import time
from collections.abc import Callable, Sequence

from enricher import health
from enricher.exporters.snmp import agentx, index, mib
from enricher.health import ErrorCounts
from enricher.sampler import Snapshot

LOG = logging.getLogger(__name__)

MAX_BULK = 4096  # varbinds of one GetBulk answer at most


class SessionLost(Exception):
    """The master closed the session or stopped answering."""


def parse_address(address: str) -> tuple[int, str | tuple[str, int]]:
    """``/var/agentx/master``, ``unix:/path`` or ``tcp:HOST:PORT`` as (family, address)."""
    text = address.strip()
    if text.startswith("unix:"):
        text = text[len("unix:"):]
    if text.startswith("/"):
        return socket.AF_UNIX, text
    if text.startswith("tcp:"):
        host, sep, port = text[len("tcp:"):].rpartition(":")
        if sep and host and port.isdigit() and 0 < int(port) < 65536:
            return socket.AF_INET6 if ":" in host else socket.AF_INET, (
                host.strip("[]"), int(port))
    raise ValueError("not an AgentX address (/path/to/socket or tcp:HOST:PORT): %r"
                     % address)


def answer(view: index.View, request: agentx.Request) -> list[agentx.VarBind]:
    """The varbinds of the response to a Get, GetNext or GetBulk."""
    kind = request.header.type
    if kind == agentx.GET:
        return [view.get(r.start) for r in request.ranges]
    if kind == agentx.GETNEXT:
        return [view.next(r.start, r.include, r.end) for r in request.ranges]
    count = min(request.non_repeaters, len(request.ranges))
    found = [view.next(r.start, r.include, r.end) for r in request.ranges[:count]]
    repeaters = request.ranges[count:]
    cursor = [(r.start, r.include) for r in repeaters]
    for _ in range(request.max_repetitions):
        if not repeaters or len(found) + len(repeaters) > MAX_BULK:
            break
        more = False
        for j, search in enumerate(repeaters):
            start, include = cursor[j]
            vb = view.next(start, include, search.end)
            found.append(vb)
            if vb.type != agentx.END_OF_MIB_VIEW:
                more = True
                cursor[j] = (vb.oid, False)
        if not more:
            break
    return found


class Agent:
    """An AgentX subagent serving ENRICHER-MIB from the latest snapshot."""

    def __init__(self, address: str, base: agentx.Oid, errors: ErrorCounts, *,
                 timeout: int = 5, reconnect_interval: float = 5.0,
                 ping_interval: float = 15.0, description: str = "enricher",
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.address = address
        self._family, self._sockaddr = parse_address(address)
        self.layout = mib.Layout(base)
        self.indexes = index.VmIndexes()
        self._errors = errors
        self._timeout = timeout
        self._reconnect = reconnect_interval
        self._ping_interval = ping_interval
        self._description = description
        self._clock = clock
        self._started = clock()
        self._view = index.View((), (), frozenset(self.layout.named().values()))
        self._stop = threading.Event()
        self._send_lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._session_id = 0
        self._packets = itertools.count(1)
        self._thread: threading.Thread | None = None
        self._unreachable_logged = False
        self.registered = threading.Event()
        self.registrations = 0  # sessions registered since start
        self.notifications = 0  # Notify PDUs sent

    # -- the sampler's side ------------------------------------------------------

    def on_snapshot(self, snapshot: Snapshot) -> None:
        """Rebuild the view (``Sampler.on_snapshot``, in the sampler's thread)."""
        self._view = index.build(snapshot, self.layout, self.indexes)

    @property
    def view(self) -> index.View:
        return self._view

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._thread = health.supervised("snmp-agentx", self._run, self._stop,
                                             self._errors.threads)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        sock = self._sock
        if sock is not None:
            self._send(lambda sid: agentx.close_pdu(sid, agentx.REASON_SHUTDOWN,
                                                    next(self._packets)))
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                sock = socket.socket(self._family, socket.SOCK_STREAM)
                sock.settimeout(self._timeout)
                sock.connect(self._sockaddr)
            except OSError as exc:
                sock.close()
                self._unreachable(exc)
                self._stop.wait(self._reconnect)
                continue
            try:
                self._session(sock)
            except (OSError, agentx.ParseError, SessionLost) as exc:
                if not self._stop.is_set():
                    self._errors.add("snmp", "disconnected")
                    LOG.warning("AgentX session with %s lost: %s; reconnecting in "
                                "%.0f s", self.address, exc, self._reconnect)
            finally:
                self.registered.clear()
                with self._send_lock:
                    self._sock = None
                    self._session_id = 0
                sock.close()
            self._stop.wait(self._reconnect)

    def _unreachable(self, exc: OSError) -> None:
        self._errors.add("snmp", "unreachable")
        if not self._unreachable_logged:
            LOG.warning("No AgentX master (snmpd) at %s: %s; SNMP is served once it "
                        "appears (retrying every %.0f s)", self.address, exc,
                        self._reconnect)
            self._unreachable_logged = True

    # -- the session ---------------------------------------------------------------

    def _session(self, sock: socket.socket) -> None:
        reader = _PduReader(sock)
        base = self.layout.base
        sock.sendall(agentx.open_pdu(self._timeout, base, self._description,
                                     next(self._packets)))
        opened = self._expect_response(reader)
        if opened.error:
            raise SessionLost("Open refused (error %d)" % opened.error)
        session = opened.header.session_id
        sock.sendall(agentx.register_pdu(session, base, 0, 127, next(self._packets)))
        registered = self._expect_response(reader)
        if registered.error:
            raise SessionLost("Register of %s refused (error %d)"
                              % (".".join(map(str, base)), registered.error))
        with self._send_lock:
            self._sock, self._session_id = sock, session
        self.registrations += 1
        self._unreachable_logged = False
        self.registered.set()
        LOG.info("Registered ENRICHER-MIB at %s with the AgentX master at %s",
                 ".".join(map(str, base)), self.address)
        self._serve(sock, reader)

    def _expect_response(self, reader: _PduReader) -> agentx.Response:
        deadline = self._clock() + self._timeout
        while True:
            left = deadline - self._clock()
            if left <= 0:
                raise SessionLost("no response from the master")
            header, payload = reader.read(left)
            if header is None:
                continue
            if header.type == agentx.RESPONSE:
                return agentx.decode_response(header, payload)
            if header.type == agentx.CLOSE:
                raise SessionLost("the master closed the session")

    def _serve(self, sock: socket.socket, reader: _PduReader) -> None:
        unanswered = 0
        while not self._stop.is_set():
            header, payload = reader.read(self._ping_interval)
            if header is None:  # quiet for a ping interval: is the master alive?
                if unanswered >= 2:
                    raise SessionLost("%d pings unanswered" % unanswered)
                unanswered += 1
                self._send(lambda sid: agentx.ping_pdu(sid, next(self._packets)))
                continue
            unanswered = 0
            if header.type == agentx.RESPONSE:
                continue  # to a ping or a notification
            if header.type == agentx.CLOSE:
                raise SessionLost("the master closed the session")
            if header.type in (agentx.CLEANUPSET,):
                continue  # no response expected
            self._respond(sock, header, payload)

    def _respond(self, sock: socket.socket, header: agentx.Header, payload: bytes) -> None:
        uptime = int((self._clock() - self._started) * 100)
        if header.type in (agentx.GET, agentx.GETNEXT, agentx.GETBULK):
            try:
                request = agentx.decode_request(header, payload)
            except agentx.ParseError:
                self._errors.add("snmp", "parse_error")
                data = agentx.response_pdu(header, uptime, error=agentx.PARSE_ERROR)
            else:
                data = agentx.response_pdu(header, uptime, answer(self._view, request))
        elif header.type in (agentx.TESTSET, agentx.COMMITSET, agentx.UNDOSET):
            data = agentx.response_pdu(header, uptime, error=agentx.NOT_WRITABLE, index=1)
        else:
            data = agentx.response_pdu(header, uptime, error=agentx.PROCESSING_ERROR)
        with self._send_lock:
            sock.sendall(data)

    def _send(self, build: Callable[[int], bytes]) -> bool:
        """Send a PDU of the current session (``build(session_id)``); False if none."""
        with self._send_lock:
            if self._sock is None:
                return False
            try:
                self._sock.sendall(build(self._session_id))
            except OSError as exc:
                LOG.debug("AgentX send failed: %s", exc)
                return False
            return True

    # -- notifications ---------------------------------------------------------------

    def notify(self, trap: agentx.Oid, varbinds: Sequence[agentx.VarBind]) -> bool:
        """Send a notification through snmpd; False (and counted) when not registered."""
        binds = [agentx.VarBind(agentx.SNMP_TRAP_OID_0, agentx.OBJECT_IDENTIFIER, trap),
                 *varbinds]
        sent = self._send(lambda sid: agentx.notify_pdu(sid, binds, next(self._packets)))
        if sent:
            self.notifications += 1
        else:
            self._errors.add("snmp", "notification_dropped")
        return sent


class _PduReader:
    """Whole PDUs from a stream socket."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buf = b""

    def read(self, timeout: float) -> tuple[agentx.Header | None, bytes]:
        """The next PDU, or (None, b"") when none came within ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            if len(self._buf) >= agentx.HEADER:
                header = agentx.decode_header(self._buf)
                end = agentx.HEADER + header.length
                if len(self._buf) >= end:
                    payload = self._buf[agentx.HEADER:end]
                    self._buf = self._buf[end:]
                    return header, payload
            left = deadline - time.monotonic()
            if left <= 0:
                return None, b""
            ready, _, _ = select.select([self._sock], [], [], left)
            if not ready:
                return None, b""
            chunk = self._sock.recv(65536)
            if not chunk:
                raise SessionLost("the master closed the connection")
            self._buf += chunk
