"""Idle service threads sleep until there is work, and still stop promptly."""

from __future__ import annotations

import queue
import threading
import time
import urllib.request
from types import SimpleNamespace

from enricher.events.dispatch import Dispatcher
from enricher.exporters.http import MetricsServer
from enricher.health import ErrorCounts


class _App:
    """Just enough of MetricsApp for the handler."""

    def render(self, gzipped: bool = False) -> bytes:
        return b"up 1\n"


def test_idle_metrics_server_blocks_until_a_scrape_and_stops_at_once() -> None:
    server = MetricsServer("127.0.0.1", 0, _App())  # type: ignore[arg-type]
    calls = []
    handle = server._server.handle_request
    server._server.handle_request = lambda: (calls.append(1), handle())[1]
    server.start()
    time.sleep(1.2)
    assert len(calls) == 1  # still waiting in its first select(): no polling
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % server.port,
                                timeout=5) as resp:
        assert resp.read() == b"up 1\n"
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 2.0
    assert not server._thread.is_alive()


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
    for dispatcher in (connected, away):
        dispatcher.start()
    time.sleep(1.6)
    threads = threading.active_count()
    started = time.monotonic()
    for dispatcher in (connected, away):
        dispatcher.stop(timeout=5.0)
    assert time.monotonic() - started < 2.0  # stop() wakes a waiting dispatcher
    assert threading.active_count() <= threads
    # At start, then once when stop() woke it: no half-second polls in between.
    assert len(checks_connected) <= 2
    assert len(checks_away) >= 3  # at start, then a reconnect attempt every half second
