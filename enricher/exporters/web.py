"""The HTTP server every endpoint is served from: h11 on an asyncio loop of its own.

HTTP/1.1 parsing and framing are h11's (python-hyper's sans-I/O protocol
library, the one under httpcore and uvicorn): request line and headers,
keep-alive, HEAD, Content-Length, and a bound on a whole header block
(``max_incomplete_event_size``). The event loop is the standard library's,
so an idle or slow connection costs a socket and a few kilobytes, never a
thread: a thread-pool server (cheroot, measured on this project's 2-core
test machine) hands each new connection to a worker that blocks on its
request line, so 1100 idle connections starve the scrape. aiohttp, tried
first, held up as well but added 11 MiB of resident memory to the process
(95 -> 108 MiB at 1000 domains, over this project's 100 MiB budget); h11 and
asyncio add 1.2 MiB.

The policy is here: at most ``max_connections`` open (lowered to fit the
open-file limit), the longest-idle connection making room for a newcomer, a
503 when every connection is busy; a request's headers must arrive within
``idle_timeout`` of connecting or of the previous response; a response must
be taken within ``send_timeout``; a listen backlog sized for many scrapers.

With a ``WebGuard`` (``[prometheus] web_config_file``), each connection is
upgraded to TLS with the context in force when it connects (so a rotated
certificate is presented from the next handshake on), handshake failures are
counted and close only that connection, every route but the ``public`` ones
asks for basic auth, and the configured response headers are added.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import http
import logging
import resource
import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

import h11

from enricher.exporters import tls
from enricher.exporters.web_guard import WebGuard

LOG = logging.getLogger(__name__)

# The most bytes of a request's line and headers; nginx allows 4 x 8 KiB.
MAX_HEADER_BYTES = 64 * 1024
# The most bytes of a request body (the endpoints take none; a body is read
# and dropped so that the connection can be reused).
MAX_BODY_BYTES = 64 * 1024
READ_SIZE = 64 * 1024
# Connections asyncio accepts per loop iteration before they are served,
# and descriptors kept for everything else (libvirt, logs, Nova, the loop).
ACCEPT_BATCH = 32
FD_RESERVE = 64

_TOO_MANY_STREAMS = b"too many streams\n"
_UNAUTHORIZED_BODY = b"401 Unauthorized\n"
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
    max_streams: int = 64  # streamed responses open at once (their share of the cap)


@dataclasses.dataclass
class ConnectionStats:
    """Connection counters, written on the event loop, read by the self-metrics."""

    max_connections: int = 0
    open: int = 0
    evicted: int = 0  # idle connections closed to make room
    rejected: int = 0  # answered 503: every connection was busy
    send_timeouts: int = 0  # aborted: the client read the response too slowly
    oversized: int = 0  # answered 431: a header block over MAX_HEADER_BYTES
    streams: int = 0  # streamed responses being sent
    streams_rejected: int = 0  # answered 503: max_streams were open


@dataclasses.dataclass(frozen=True, slots=True)
class Request:
    """One request as a handler sees it (header names in lower case)."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]


@dataclasses.dataclass(frozen=True, slots=True)
class Response:
    """What a handler answers; Content-Length and Server are added."""

    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"
    headers: Sequence[tuple[str, str]] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class StreamResponse:
    """A response sent as it is produced: each item of ``chunks`` goes out at
    once, with chunked Transfer-Encoding (HTTP/1.0: until the connection
    closes). ``send_timeout`` applies to each chunk; the stream ends cleanly
    when the iterator ends or the server stops, and the iterator is closed
    (``aclose()``) in every case. A connection sending one is never evicted.
    """

    status: int
    chunks: AsyncIterator[bytes]
    content_type: str = "application/octet-stream"
    headers: Sequence[tuple[str, str]] = ()


Handler = Callable[[Request], Awaitable[Response | StreamResponse]]


def _reason(status: int) -> bytes:
    try:
        return http.HTTPStatus(status).phrase.encode()
    except ValueError:
        return b""


def connection_cap(limits: Limits) -> int:
    """``max_connections``, lowered to what the soft open-file limit leaves room for."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return limits.max_connections
    return max(1, min(limits.max_connections, soft - FD_RESERVE - ACCEPT_BATCH))


def _listen(host: str, port: int, backlog: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family, backlog=backlog)
    sock.setblocking(False)
    return sock


@dataclasses.dataclass(eq=False, slots=True)
class _Connection:
    writer: asyncio.StreamWriter
    busy: bool = False  # a request is being handled or answered
    closing: bool = False  # evicted, on its way out


class _Closed(Exception):
    """The client went away, sent nothing in time, or broke the protocol."""


class WebServer:
    """Serves GET (and HEAD) routes from a daemon thread running an event loop.

    The socket is bound in the constructor, so a port in use fails at
    start-up; ``route()`` before ``start()``.
    """

    def __init__(self, host: str, port: int, limits: Limits,
                 guard: WebGuard | None = None) -> None:
        self.limits = limits
        self.guard = guard
        # bcrypt checks, one at a time off the event loop (as exporter-toolkit's mutex).
        self._bcrypt = ThreadPoolExecutor(1, "http-auth") if guard is not None else None
        self.stats = ConnectionStats(max_connections=connection_cap(limits))
        self._sock = _listen(host, port, limits.listen_backlog)
        self._routes: dict[str, tuple[Handler, bool]] = {}
        self._connections: dict[_Connection, None] = {}  # oldest first
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.AbstractServer | None = None
        self._stopping: asyncio.Event | None = None  # set when stop() begins

    @property
    def host(self) -> str:
        return self._sock.getsockname()[0]

    @property
    def port(self) -> int:
        return self._sock.getsockname()[1]

    def route(self, path: str, handler: Handler, public: bool = False) -> None:
        """Serve ``path`` (with or without a trailing slash) by ``handler``;
        ``/a/*`` serves every path under ``/a/`` (the longest such prefix wins);
        a ``public`` route never asks for basic auth."""
        self._routes[path.rstrip("/") or "/"] = (handler, public)

    def _find(self, path: str) -> tuple[Handler | None, bool]:
        """The handler of ``path`` and whether it is public; (None, False) if none."""
        key = path.rstrip("/") or "/"
        found = self._routes.get(key)
        while found is None and key not in ("", "/"):
            key = key.rpartition("/")[0]
            found = self._routes.get(key + "/*")
        return found if found is not None else (None, False)

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
        scheme = "https" if self.guard and self.guard.state().context else "http"
        LOG.info("Serving metrics on %s://%s:%d/metrics (at most %d connections, "
                 "idle timeout %.0f s)", scheme, self.host, self.port,
                 self.stats.max_connections, self.limits.idle_timeout)

    def _run(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = self._loop
        assert loop is not None  # noqa: S101 - type narrowing: start() set it
        asyncio.set_event_loop(loop)
        self._stopping = asyncio.Event()
        try:
            self._server = loop.run_until_complete(asyncio.start_server(
                self._serve, sock=self._sock, backlog=ACCEPT_BATCH, limit=READ_SIZE))
            # asyncio listen()s with the accept batch size; give the kernel its
            # full queue again (Linux updates the backlog of a listening socket).
            self._sock.listen(self.limits.listen_backlog)
        except BaseException as exc:  # noqa: BLE001 - handed to start()'s caller
            failure.append(exc)
            ready.set()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    def stop(self, timeout: float = 3.0) -> None:
        """Stop accepting, drop every connection, stop the loop's thread."""
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
        if self._bcrypt is not None:
            self._bcrypt.shutdown(wait=False, cancel_futures=True)

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        if self._stopping is not None:
            self._stopping.set()  # streams send their last chunk and end
            await asyncio.sleep(0.05)
        for conn in list(self._connections):
            conn.writer.transport.abort()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        if tasks:
            await asyncio.wait(tasks, timeout=1.0)

    # -- one connection -------------------------------------------------------------

    def _make_room(self) -> bool:
        """At the cap, close the longest-idle connection; False if all are busy."""
        live = [c for c in self._connections if not c.closing]
        if len(live) < self.stats.max_connections:
            return True
        idle = next((c for c in live if not c.busy), None)
        if idle is None:
            self.stats.rejected += 1
            return False
        idle.closing = True
        idle.writer.transport.abort()
        self.stats.evicted += 1
        return True

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
                     ) -> None:
        if not self._make_room():
            writer.write(_UNAVAILABLE)
            writer.close()
            return
        conn = _Connection(writer)
        self._connections[conn] = None
        self.stats.open = len(self._connections)
        protocol = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEADER_BYTES)
        try:
            if self.guard is not None and not await self._start_tls(self.guard, conn):
                return
            while await self._exchange(protocol, reader, conn):
                protocol.start_next_cycle()
        except _Closed:
            pass
        except (ConnectionError, h11.LocalProtocolError) as exc:
            LOG.debug("HTTP connection ended: %s", exc)
        finally:
            del self._connections[conn]
            self.stats.open = len(self._connections)
            if conn.closing:
                writer.transport.abort()
            else:
                writer.close()

    async def _start_tls(self, guard: WebGuard, conn: _Connection) -> bool:
        """Upgrade to TLS if the web config says so; False if the handshake failed."""
        state = guard.state()
        if state.context is None:
            return True
        try:
            await conn.writer.start_tls(state.context,
                                        ssl_handshake_timeout=min(
                                            tls.HANDSHAKE_TIMEOUT, self.limits.idle_timeout))
        except (OSError, asyncio.TimeoutError) as exc:
            reason = tls.failure_reason(exc)
            guard.handshake_errors[reason] += 1
            LOG.debug("TLS handshake failed (%s): %s", reason, exc)
            conn.closing = True
            return False
        if not tls.san_allowed(conn.writer.get_extra_info("peercert"), state.allowed_sans):
            guard.handshake_errors["client_san_not_allowed"] += 1
            LOG.debug("Refused a client certificate without an allowed SAN")
            conn.closing = True
            return False
        return True

    async def _authorized(self, guard: WebGuard, headers: Mapping[str, str]) -> bool:
        """Whether the request carries a configured user's password (no auth: True)."""
        state = guard.state()
        if state.auth is None:
            return True
        header = headers.get("authorization")
        outcome = state.auth.cached(header)
        if outcome is None:
            loop = asyncio.get_running_loop()
            outcome = await loop.run_in_executor(self._bcrypt, state.auth.check, header)
        if not outcome:
            guard.auth_failures += 1
        return outcome

    async def _exchange(self, protocol: h11.Connection, reader: asyncio.StreamReader,
                        conn: _Connection) -> bool:
        """Read one request, answer it; whether the connection stays open."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.limits.idle_timeout
        try:
            request = await self._next_event(protocol, reader, deadline)
            if not isinstance(request, h11.Request):
                return False
            conn.busy = True
            body = 0
            while not isinstance(event := await self._next_event(
                    protocol, reader, loop.time() + self.limits.idle_timeout),
                    h11.EndOfMessage):
                body += len(event.data) if isinstance(event, h11.Data) else 0
                if body > MAX_BODY_BYTES or not isinstance(event, h11.Data):
                    raise h11.RemoteProtocolError("request body too large",
                                                  error_status_hint=413)
        except h11.RemoteProtocolError as exc:
            await self._refuse(protocol, conn, exc)
            return False
        response = await self._handle(request)
        await self._send(protocol, conn, response, request.method == b"HEAD")
        conn.busy = False
        return protocol.our_state is h11.DONE and protocol.their_state is h11.DONE

    async def _next_event(self, protocol: h11.Connection, reader: asyncio.StreamReader,
                          deadline: float) -> h11.Event:
        loop = asyncio.get_running_loop()
        while (event := protocol.next_event()) is h11.NEED_DATA:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise _Closed
            try:
                data = await asyncio.wait_for(reader.read(READ_SIZE), remaining)
            except asyncio.TimeoutError:
                raise _Closed from None
            protocol.receive_data(data)  # b"" is the client's end of the stream
        if isinstance(event, h11.ConnectionClosed):
            raise _Closed
        return event

    async def _handle(self, event: h11.Request) -> Response | StreamResponse:
        target = event.target.decode("ascii", "replace")
        path, _, query = target.partition("?")
        handler, public = self._find(path)
        headers = {name.decode("latin-1"): value.decode("latin-1")
                   for name, value in event.headers}
        if self.guard is not None and not public and \
                not await self._authorized(self.guard, headers):
            return Response(401, _UNAUTHORIZED_BODY, headers=[("WWW-Authenticate", "Basic")])
        if handler is None:
            return Response(404, b"not found\n")
        method = event.method.decode("ascii", "replace")
        if method not in ("GET", "HEAD"):
            return Response(405, b"method not allowed\n", headers=[("Allow", "GET, HEAD")])
        try:
            return await handler(Request(method, path, query, headers))
        except Exception:
            LOG.exception("Request for %s failed", path)
            return Response(500, b"internal error\n")

    async def _send(self, protocol: h11.Connection, conn: _Connection,
                    response: Response | StreamResponse, head: bool) -> None:
        if isinstance(response, StreamResponse):
            if not head and self.stats.streams < self.limits.max_streams:
                await self._stream(protocol, conn, response)
                return
            await response.chunks.aclose()
            if head:  # the headers a GET would get, no body
                response = Response(response.status, b"", response.content_type,
                                    response.headers)
            else:
                self.stats.streams_rejected += 1
                response = Response(503, _TOO_MANY_STREAMS,
                                    headers=[("Retry-After", "1")])
        headers = [("Content-Type", response.content_type),
                   ("Content-Length", str(len(response.body))), ("Server", "enricher"),
                   *response.headers]
        if self.guard is not None:
            headers += self.guard.state().headers
        chunks = protocol.send_with_data_passthrough(h11.Response(
            status_code=response.status, headers=headers,
            reason=_reason(response.status))) or []
        if not head:
            chunks += protocol.send_with_data_passthrough(h11.Data(data=response.body)) or []
        chunks += protocol.send_with_data_passthrough(h11.EndOfMessage()) or []
        conn.writer.writelines(chunks)
        await self._drain(conn)

    async def _drain(self, conn: _Connection) -> None:
        try:
            await asyncio.wait_for(conn.writer.drain(), self.limits.send_timeout)
        except asyncio.TimeoutError:
            self.stats.send_timeouts += 1
            conn.closing = True
            raise _Closed from None

    async def _stream(self, protocol: h11.Connection, conn: _Connection,
                      response: StreamResponse) -> None:
        """Send ``response`` chunk by chunk until it ends or the server stops."""
        assert self._stopping is not None  # noqa: S101 - type narrowing: start() set it
        self.stats.streams += 1
        headers = [("Content-Type", response.content_type), ("Server", "enricher"),
                   ("Cache-Control", "no-cache"), *response.headers]
        if self.guard is not None:
            headers += self.guard.state().headers
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            conn.writer.write(protocol.send(h11.Response(
                status_code=response.status, headers=headers,
                reason=_reason(response.status))) or b"")
            await self._drain(conn)
            while True:
                following = asyncio.ensure_future(anext(response.chunks))
                await asyncio.wait((following, stopping),
                                   return_when=asyncio.FIRST_COMPLETED)
                if not following.done():
                    following.cancel()
                    with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                        await following
                    break
                try:
                    chunk = following.result()
                except StopAsyncIteration:
                    break
                if chunk:
                    conn.writer.write(protocol.send(h11.Data(data=chunk)) or b"")
                    await self._drain(conn)
            conn.writer.write(protocol.send(h11.EndOfMessage()) or b"")
            await self._drain(conn)
        finally:
            self.stats.streams -= 1
            stopping.cancel()
            await response.chunks.aclose()

    async def _refuse(self, protocol: h11.Connection, conn: _Connection,
                      exc: h11.RemoteProtocolError) -> None:
        """Answer a request that broke the protocol or a limit, if still possible."""
        status = exc.error_status_hint
        if status == 431:
            self.stats.oversized += 1
        if protocol.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        LOG.debug("Refused a request: %s", exc)
        body = b"%d %s\n" % (status, _reason(status))  # never the client's bytes
        conn.writer.write(protocol.send(h11.Response(
            status_code=status, reason=_reason(status), headers=[
                ("Content-Type", "text/plain"), ("Content-Length", str(len(body))),
                ("Connection", "close"), ("Server", "enricher")])) or b"")
        conn.writer.write(body)
        with contextlib.suppress(ConnectionError, asyncio.TimeoutError):
            await asyncio.wait_for(conn.writer.drain(), self.limits.send_timeout)
