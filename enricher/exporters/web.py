"""The HTTP server every endpoint is served from: aiohttp on an event loop of its own.

Why aiohttp: it is event-driven, so an idle or slow connection costs a
socket and a few kilobytes, never a thread. Measured on this project's
2-core test machine, a thread-pool server (cheroot) hands each new
connection to a worker that blocks reading its request line, so 1100 idle
connections starve the scrape; aiohttp served it at once. Its llhttp parser
bounds each header line and the number of headers, and its keep-alive timer
runs from the moment a connection is made, so a client that never finishes a
request is dropped.

What aiohttp leaves to us, done here: a cap on open connections below the
open-file limit (at the cap the longest-idle connection makes room, or the
newcomer gets a 503 when all are busy), a bound on a request's whole header
block, a listen backlog sized for many scrapers, and a deadline on sending a
response to a slow reader.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import resource
import socket
import threading
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

LOG = logging.getLogger(__name__)

# Longest request line and header line, and most headers, aiohttp accepts;
# and the most bytes a whole header block may have (nginx allows 4 x 8 KiB).
MAX_LINE = 8190
MAX_HEADERS = 64
MAX_HEADER_BYTES = 64 * 1024
# Connections asyncio accepts per loop iteration before the protocols run,
# and descriptors kept for everything else (libvirt, logs, Nova, the loop).
ACCEPT_BATCH = 32
FD_RESERVE = 64
# Seconds requests in progress get to finish when the server stops.
SHUTDOWN_GRACE = 1.0

_TOO_LARGE = (b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
              b"Content-Length: 0\r\nConnection: close\r\n\r\n")
_END_OF_HEADERS = b"\r\n\r\n"
_UNAVAILABLE = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
                b"Content-Length: 20\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
                b"too many connections")


@dataclasses.dataclass(frozen=True, slots=True)
class Limits:
    """What one client may hold: see the [prometheus] options of the same names."""

    max_connections: int = 512
    idle_timeout: float = 30.0
    send_timeout: float = 10.0
    listen_backlog: int = 1024


@dataclasses.dataclass
class ConnectionStats:
    """Connection counters, written on the event loop, read by the self-metrics."""

    max_connections: int = 0
    open: int = 0  # as of the latest /metrics request
    evicted: int = 0  # idle connections closed to make room
    rejected: int = 0  # answered 503: every connection was busy
    send_timeouts: int = 0  # aborted: the client read the response too slowly
    oversized: int = 0  # answered 431: a header block over MAX_HEADER_BYTES


def connection_cap(limits: Limits) -> int:
    """``max_connections``, lowered to what the soft open-file limit leaves room for."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return limits.max_connections
    room = soft - FD_RESERVE - ACCEPT_BATCH
    return max(1, min(limits.max_connections, room))


def _listen(host: str, port: int, backlog: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family, backlog=backlog)
    sock.setblocking(False)
    return sock


class _Unavailable(asyncio.Protocol):
    """Answers a connection over the cap with a 503 and closes it."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(_UNAVAILABLE)
        transport.close()


class _HeaderLimit(asyncio.Protocol):
    """Feeds aiohttp's handler, but ends a connection whose header block grows
    past MAX_HEADER_BYTES (aiohttp bounds lines and their number, not the total).

    The endpoints take no request bodies, so every byte until a blank line
    belongs to a header block.
    """

    def __init__(self, inner: RequestHandler, stats: ConnectionStats) -> None:
        self._inner = inner
        self._stats = stats
        self._transport: asyncio.Transport | None = None
        self._pending = 0  # bytes since the last end of a header block
        self._tail = b""  # the last three bytes, for an end split across reads
        self._cut = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._cut:
            return
        end = data.rfind(_END_OF_HEADERS)
        if end >= 0:
            self._pending = len(data) - end - len(_END_OF_HEADERS)
        else:
            edge = (self._tail + data[:3]).find(_END_OF_HEADERS)
            if edge >= 0:
                self._pending = len(data) - (edge + len(_END_OF_HEADERS) - len(self._tail))
            else:
                self._pending += len(data)
        self._tail = data[-3:] if len(data) >= 3 else (self._tail + data)[-3:]
        if self._pending > MAX_HEADER_BYTES:
            self._cut = True
            self._stats.oversized += 1
            assert self._transport is not None
            self._transport.write(_TOO_LARGE)
            self._transport.close()
            return
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class WebServer:
    """Serves ``app`` (an aiohttp Application) from a daemon thread running its event loop.

    The socket is bound in the constructor, so a port in use fails at
    start-up. ``start()`` returns once the server accepts connections;
    ``stop()`` ends requests in progress within ``SHUTDOWN_GRACE`` seconds.
    """

    def __init__(self, host: str, port: int, limits: Limits) -> None:
        self.limits = limits
        self.stats = ConnectionStats(max_connections=connection_cap(limits))
        self._sock = _listen(host, port, limits.listen_backlog)
        self._busy: set[RequestHandler] = set()
        # Routes are added by the endpoint modules before start().
        self.app = web.Application(middlewares=[self._track_busy])
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._server: asyncio.AbstractServer | None = None

    @property
    def host(self) -> str:
        return self._sock.getsockname()[0]

    @property
    def port(self) -> int:
        return self._sock.getsockname()[1]

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        return self._loop

    def start(self) -> None:
        ready = threading.Event()
        failure: list[BaseException] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, args=(ready, failure),
                                        name="http", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        LOG.info("Serving metrics on http://%s:%d/metrics (at most %d connections, "
                 "idle timeout %.0f s)", self.host, self.port,
                 self.stats.max_connections, self.limits.idle_timeout)

    def _run(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._start())
        except BaseException as exc:  # noqa: BLE001 - handed to start()'s caller
            failure.append(exc)
            ready.set()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    async def _start(self) -> None:
        self._runner = web.AppRunner(
            self.app, handle_signals=False, access_log=None,
            shutdown_timeout=SHUTDOWN_GRACE,
            keepalive_timeout=self.limits.idle_timeout,
            max_line_size=MAX_LINE, max_field_size=MAX_LINE, max_headers=MAX_HEADERS)
        await self._runner.setup()
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, sock=self._sock,
                                                backlog=ACCEPT_BATCH)
        # asyncio listen()s with the accept batch size; give the kernel its
        # full queue again (Linux updates the backlog of a listening socket).
        self._sock.listen(self.limits.listen_backlog)

    def _protocol(self) -> asyncio.Protocol:
        """A handler for a new connection, making room at the cap first."""
        assert self._runner is not None and self._runner.server is not None
        live = [h for h in self._runner.server.connections if h.transport is not None]
        if len(live) >= self.stats.max_connections:
            idle = next((h for h in live if h not in self._busy), None)
            if idle is None:
                self.stats.rejected += 1
                return _Unavailable()
            idle.force_close()
            self.stats.evicted += 1
        return _HeaderLimit(self._runner.server(), self.stats)

    @web.middleware
    async def _track_busy(self, request: web.Request, handler: Handler
                          ) -> web.StreamResponse:
        """Mark a connection busy while a request is handled (never evicted then)."""
        protocol = request.protocol
        self._busy.add(protocol)
        try:
            return await handler(request)
        finally:
            self._busy.discard(protocol)

    def count_open(self) -> int:
        """Open connections now; call it on the event loop."""
        assert self._runner is not None and self._runner.server is not None
        self.stats.open = len(self._runner.server.connections)
        return self.stats.open

    async def send(self, request: web.Request, response: web.StreamResponse,
                   body: bytes) -> web.StreamResponse:
        """Send ``response`` with ``body`` (none for HEAD) within ``send_timeout``."""
        response.content_length = len(body)
        try:
            await asyncio.wait_for(self._write(request, response, body),
                                   self.limits.send_timeout)
        except asyncio.TimeoutError:
            self.stats.send_timeouts += 1
            LOG.debug("Aborted a response to %s: not read within %.0f s",
                      request.remote, self.limits.send_timeout)
            if request.transport is not None:
                request.transport.abort()
        return response

    @staticmethod
    async def _write(request: web.Request, response: web.StreamResponse,
                     body: bytes) -> None:
        await response.prepare(request)
        if request.method != "HEAD":
            await response.write(body)
        await response.write_eof()

    def stop(self, timeout: float = 3.0) -> None:
        """Stop accepting, end what is in progress, stop the loop's thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or not thread.is_alive():
            self._sock.close()
            return
        future = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
        try:
            future.result(timeout)
        except Exception:
            LOG.warning("The HTTP server did not shut down cleanly", exc_info=True)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self._sock.close()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        if self._runner is not None:
            await self._runner.cleanup()
