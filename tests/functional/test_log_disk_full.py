"""The log's disk is full: every write fails with ENOSPC, nothing else stops.

``/dev/full`` stands for the full disk: the JSON event log ([events]
log_file) and the diagnostics log both write there. Events keep being
counted, collections go on, every background thread stays up, and an event
after the failed writes is handled like the first.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

import pytest

from tests import fixtures
from tests.functional.conftest import parse, scrape_text
from tests.functional.test_events import A_UUID, wait_for

FULL = Path("/dev/full")
B_UUID = "1e1f5c80-5ad1-45e8-a8e3-6bd40e6a30a8"

pytestmark = pytest.mark.skipif(not FULL.exists(), reason="no /dev/full")


@pytest.fixture
def full_diagnostics() -> logging.Handler:
    """The diagnostics log on the full disk too (what a log file handler would be)."""
    handler = logging.FileHandler(FULL)
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)
    with contextlib.suppress(OSError):
        handler.close()


def test_a_full_log_disk_loses_no_event_and_stops_no_thread(
        service_factory, node_file, full_diagnostics, capsys) -> None:
    svc = service_factory(fixtures.test_node_uri(node_file), libvirt__read_only=False,
                          interval=0.2, events__stop_delay=0.0, events__log_file=str(FULL))
    conn = svc.connection.get()
    dom = conn.lookupByUUIDString(A_UUID)
    dom.suspend()
    wait_for(lambda: svc.events.counters.count(A_UUID, "suspended"), what="the suspend")
    assert "Logging error" in capsys.readouterr().err  # the writes did fail
    first = svc.sampler.snapshot.sequence
    dom.resume()
    dom.destroy()
    wait_for(lambda: svc.events.counters.count(A_UUID, "stopped"), what="the stop")
    wait_for(lambda: svc.sampler.snapshot.sequence > first + 2, what="collections going on")
    threads = svc.errors.threads.snapshot()
    assert threads and all(up for up, _ in threads.values()), threads
    assert all(restarts == 0 for _, restarts in threads.values()), threads
    samples = parse(scrape_text(svc))
    assert samples["libvirt_up"][0].value == 1
    events = {(s.labels["uuid"], s.labels["event"]): s.value
              for s in samples["libvirt_domain_events_total"]}
    assert events[(A_UUID, "suspended")] == 1 and events[(A_UUID, "stopped")] == 1
    svc.stop()  # closing the full log does not stop the shutdown half-way
    assert not any(up for up, _ in svc.errors.threads.snapshot().values())
