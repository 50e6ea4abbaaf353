"""Idle service threads sleep until there is work, and still stop promptly."""

from __future__ import annotations

import itertools
import pathlib
import queue
import threading
import time
import urllib.request
from types import SimpleNamespace

from enricher.events.dispatch import Dispatcher
from enricher.events.webhook import WebhookSink
from enricher.exporters.web import Limits, Request, Response, WebServer
from enricher.health import ErrorCounts


def _context_switches(thread: threading.Thread) -> int:
    """How often ``thread`` went to sleep and was woken (voluntary switches)."""
    status = pathlib.Path("/proc/self/task/%d/status" % thread.native_id).read_text()
    return int(next(line.split()[1] for line in status.splitlines()
                    if line.startswith("voluntary_ctxt_switches:")))


def test_idle_http_server_sleeps_until_a_request_and_stops_at_once() -> None:
    server = WebServer("127.0.0.1", 0, Limits())

    async def up(_request: Request) -> Response:
        return Response(200, b"up 1\n")

    server.route("/metrics", up)
    server.start()
    thread = server._thread
    assert thread is not None
    time.sleep(0.2)
    before = _context_switches(thread)
    time.sleep(1.2)
    assert _context_switches(thread) - before <= 1  # asleep in epoll: no polling
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % server.port,
                                timeout=5) as resp:
        assert resp.read() == b"up 1\n"
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 2.0
    assert not thread.is_alive()


def _dispatcher(connected: bool) -> tuple[Dispatcher, list[int]]:
    checks: list[int] = []

    def keep_connected() -> bool:
        checks.append(1)
        return connected

    resolver = SimpleNamespace(resolve=lambda *a, **k: None)
    dispatcher = Dispatcher(queue.Queue(), resolver, [], ErrorCounts(),  # type: ignore[arg-type]
                            keep_connected=keep_connected)
    return dispatcher, checks


def test_dispatcher_waits_for_events_while_connected_and_polls_while_not() -> None:
    connected, checks_connected = _dispatcher(True)
    away, checks_away = _dispatcher(False)
    before = set(threading.enumerate())
    for dispatcher in (connected, away):
        dispatcher.start()
    time.sleep(1.6)
    workers = set(threading.enumerate()) - before
    assert len(workers) == 2 and all(t.is_alive() for t in workers), workers
    started = time.monotonic()
    for dispatcher in (connected, away):
        dispatcher.stop(timeout=5.0)
    assert time.monotonic() - started < 2.0  # stop() wakes a waiting dispatcher
    assert not [t for t in workers if t.is_alive()]  # and its thread has ended
    # At start, then once when stop() woke it: no half-second polls in between.
    assert len(checks_connected) <= 2
    assert len(checks_away) >= 3  # at start, then a reconnect attempt every half second


class _Nova:
    """A host-wide look-up that fails while ``down`` and records when it ran."""

    def __init__(self) -> None:
        self.down = False
        self.calls: list[float] = []

    def lookup_host(self) -> dict:
        from enricher.exceptions import NovaLookupFailed

        self.calls.append(time.monotonic())
        if self.down:
            raise NovaLookupFailed("simulated outage")
        return {}


def _fallback(source: _Nova, refresh_min_interval: float = 0.0):
    from enricher.backoff import Backoff
    from enricher.tenancy.fallback import NovaFallback

    fallback = NovaFallback(source, ErrorCounts(), cache_ttl=0, negative_ttl=0,
                            refresh_min_interval=refresh_min_interval,
                            backoff=Backoff(0.3, 0.3, jitter=0))
    checks: list[int] = []  # each time the worker looks at whether a look-up is due
    method = fallback.due_in
    fallback.due_in = lambda: (checks.append(1), method())[1]
    return fallback, checks


def test_nova_worker_sleeps_until_a_miss_and_looks_up_at_once() -> None:
    source = _Nova()
    before = set(threading.enumerate())
    fallback, checks = _fallback(source)
    worker = set(threading.enumerate()) - before
    assert [t.name for t in worker] == ["nova-fallback"]
    time.sleep(2.5)
    assert source.calls == [] and len(checks) <= 1  # once at start, no one-second polls
    asked = time.monotonic()
    fallback.complete({"u-1": ("instance-1", None)})
    deadline = asked + 2.0
    while not source.calls and time.monotonic() < deadline:
        time.sleep(0.01)
    assert source.calls and source.calls[0] - asked < 0.2
    started = time.monotonic()
    fallback.stop()
    assert time.monotonic() - started < 1.0
    assert not [t for t in worker if t.is_alive()]


def test_nova_worker_retries_on_the_back_off_not_on_a_poll() -> None:
    source = _Nova()
    source.down = True
    fallback, _checks = _fallback(source)
    fallback.complete({"u-1": ("instance-1", None)})
    time.sleep(1.15)
    fallback.stop()
    gaps = [b - a for a, b in itertools.pairwise(source.calls)]
    assert len(source.calls) >= 3, source.calls  # 0, 0.3, 0.6, 0.9 s: not once a second
    assert all(0.25 <= gap < 0.9 for gap in gaps), gaps  # the old loop: 1 s


def test_nova_worker_waits_out_the_rate_limit() -> None:
    source = _Nova()
    fallback, _checks = _fallback(source, refresh_min_interval=0.5)
    fallback.complete({"u-1": ("instance-1", None)})
    time.sleep(0.1)
    fallback.complete({"u-2": ("instance-2", None)})  # queued inside the rate limit
    time.sleep(0.8)
    fallback.stop()
    assert len(source.calls) == 2, source.calls
    assert 0.45 <= source.calls[1] - source.calls[0] < 0.8  # inside the 0.8 s sleep


def test_an_idle_webhook_or_masakari_sender_sleeps_until_an_item_and_stops_at_once() -> None:
    posted: list[dict] = []
    sink = WebhookSink("http://unused.invalid/", post=lambda _u, record, _t: posted.append(record))
    sink.start()
    thread = sink._worker._thread
    assert thread is not None
    time.sleep(0.2)
    before = _context_switches(thread)
    time.sleep(1.2)
    assert _context_switches(thread) - before <= 1  # blocked on its queue: no polling
    assert sink.submit({"event": "started"})
    deadline = time.monotonic() + 2
    while not posted:
        assert time.monotonic() < deadline, "the item was not sent"
        time.sleep(0.01)
    started = time.monotonic()
    sink.stop(timeout=5.0)
    assert time.monotonic() - started < 1.0  # stop() wakes it
    assert not thread.is_alive()
