"""Every background thread of a fully configured service is supervised, and comes back.

The service runs with everything that starts a thread: the background
sampler, domain events (dispatcher and libvirt's event loop), the webhook and
Masakari senders, the Nova fallback and the StatsD sender (the SNMP subagent,
supervised the same way, needs snmpd: its e2e tests cover it). Each of its threads but the HTTP
server's must be in ``enricher_thread_up`` (a thread started without
``health.supervised`` would die silently). Then SystemExit is raised in every
one of them at once (what a bug in any would do); each is restarted, counted
in ``enricher_thread_restarts_total``, and the service works afterwards.
The bug is raised inside each thread's own work: SystemExit from outside
(``PyThreadState_SetAsyncExc``) where a thread wakes on a timer, a planted
failure in its send or loop call where it sleeps in C (a queue, poll()).

Not supervised, on purpose: the HTTP server's thread (if it died, /metrics
and /healthz would be gone, which Prometheus reports as ``up`` 0), asyncio's
executor threads, the extra statistics' lanes (replaced by their pool when a
call hangs) and the deadline threads of stats calls (one per call, see
enricher/libvirt/deadline.py).
"""

from __future__ import annotations

import threading
import time

from enricher.libvirt import events as libvirt_events
from tests import fixtures
from tests.functional.conftest import parse, scrape_text
from tests.functional.test_events import A_UUID
from tests.functional.test_events_masakari import credentials_file, sim  # noqa: F401
from tests.functional.test_http_server import _kill_thread

UNSUPERVISED = {"http", "MainThread"}
# Pools whose threads come and go: asyncio's executor (renders off the event loop),
# the stats calls' deadline threads, the extra statistics' lanes; "Thread-N": the
# simulators' request threads (the enricher names each thread it starts).
POOLS = ("asyncio_", "libvirt-stats-call", "extra-", "Thread-")


def _thread_values(svc, name: str) -> dict[str, float]:
    return {s.labels["thread"]: s.value for s in parse(scrape_text(svc)).get(name, [])}


def test_every_background_thread_is_supervised_and_restarted(
        service_factory, node_file, tmp_path, sim, monkeypatch) -> None:  # noqa: F811
    before = set(threading.enumerate())
    svc = service_factory(fixtures.test_node_uri(node_file), [credentials_file(tmp_path, sim)],
                          libvirt__read_only=False, interval=0.2, events__stop_delay=0.0,
                          events__webhook_url="http://127.0.0.1:9/hook",
                          masakari__enabled=True, statsd__enabled=True,
                          statsd__host="127.0.0.1", statsd__port=9, statsd__interval=1)
    expected = {"sampler", "event-dispatch", "libvirt-event-loop", "nova-fallback", "statsd"}
    deadline = time.monotonic() + 10
    while not expected <= set(_thread_values(svc, "enricher_thread_up")):
        assert time.monotonic() < deadline, _thread_values(svc, "enricher_thread_up")
        time.sleep(0.05)
    up = _thread_values(svc, "enricher_thread_up")
    assert len(up) >= len(expected) + 2, up  # and the webhook and Masakari senders
    started = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    names = {t.name for t in started}
    unsupervised = {n for n in names - set(up) if n not in UNSUPERVISED
                    and not n.startswith(POOLS)}
    assert not unsupervised, "threads nobody restarts: %s" % sorted(unsupervised)

    # A bug (SystemExit, which no loop catches) inside each thread's own work, once.
    dom = svc.connection.get().lookupByUUIDString(A_UUID)
    for thread in started:
        if thread.name in ("sampler", "nova-fallback", "event-dispatch", "statsd"):
            _kill_thread(thread)  # they wake on their own timers
    webhook, masakari = svc.events.webhook, svc.events.masakari
    for sink in (webhook, masakari):
        sink._send = _once(sink._send)
        sink.submit({"event": "test"})
    monkeypatch.setattr(libvirt_events.libvirt, "virEventRunDefaultImpl",
                        _once(libvirt_events.libvirt.virEventRunDefaultImpl))
    deadline = time.monotonic() + 20
    while True:
        restarts = _thread_values(svc, "enricher_thread_restarts_total")
        if all(restarts.get(n, 0) >= 1 for n in up):
            break
        assert time.monotonic() < deadline, "not restarted: %s" % sorted(
            n for n in up if not restarts.get(n))
        dom.suspend()  # an event wakes the libvirt event loop
        dom.resume()
        time.sleep(0.2)
    deadline = time.monotonic() + 5
    while not all(v == 1 for v in _thread_values(svc, "enricher_thread_up").values()):
        assert time.monotonic() < deadline, _thread_values(svc, "enricher_thread_up")
        time.sleep(0.1)
    # Everything works after the restarts: an event is counted, collections go on.
    counted = svc.events.counters.count(A_UUID, "suspended")
    collected = svc.sampler.snapshot.sequence
    dom.suspend()
    deadline = time.monotonic() + 5
    while (svc.events.counters.count(A_UUID, "suspended") == counted
           or svc.sampler.snapshot.sequence <= collected + 1):
        assert time.monotonic() < deadline, "events or collections stopped"
        time.sleep(0.05)


def _once(fn):
    """``fn``, except that its first call raises SystemExit."""
    calls = []

    def wrapper(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise SystemExit("planted bug")
        return fn(*args, **kwargs)

    return wrapper
