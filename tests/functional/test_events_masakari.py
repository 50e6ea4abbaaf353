"""The Masakari sink against a Keystone + Masakari API simulator on 127.0.0.1."""

from __future__ import annotations

import pathlib
import time
from collections.abc import Iterator

import pytest
from oslo_config import cfg

from enricher.cmd import nova as nova_cmd
from enricher.cmd.masakari import MasakariClient, masakari_sink
from enricher.events import masakari
from enricher.events.masakari import MasakariSink
from enricher.libvirt.events import DomainEvent
from tests import fixtures
from tests.functional.conftest import make_conf, parse, scrape_text
from tests.functional.test_events import A_UUID, wait_for
from tests.simulators.keystone_nova import KeystoneNovaSimulator

HOST = "compute-7"
PASSWORD = "Sim-Pa55w0rd!"

# What masakari-instancemonitor posts for each libvirt event it reports, from
# masakari-monitors' instancemonitor/libvirt_handler/eventfilter_table.py (the
# event filter and its eventID/detail names): (enricher event, detail) ->
# (payload "event", payload "vir_domain_event").
INSTANCEMONITOR = {
    ("suspended", "ioerror"): ("LIFECYCLE", "SUSPENDED_IOERROR"),
    ("suspended", "watchdog"): ("LIFECYCLE", "SUSPENDED_WATCHDOG"),
    ("suspended", "api_error"): ("LIFECYCLE", "SUSPENDED_API_ERROR"),
    ("stopped", "shutdown"): ("LIFECYCLE", "STOPPED_SHUTDOWN"),
    ("stopped", "destroyed"): ("LIFECYCLE", "STOPPED_DESTROYED"),
    ("stopped", "failed"): ("LIFECYCLE", "STOPPED_FAILED"),
    ("shutdown", "finished"): ("LIFECYCLE", "SHUTDOWN_FINISHED"),
    ("reboot", ""): ("REBOOT", "UNKNOWN"),
    ("watchdog", "none"): ("WATCHDOG", "WATCHDOG_NONE"),
    ("watchdog", "pause"): ("WATCHDOG", "WATCHDOG_PAUSE"),
    ("watchdog", "reset"): ("WATCHDOG", "WATCHDOG_RESET"),
    ("watchdog", "poweroff"): ("WATCHDOG", "WATCHDOG_POWEROFF"),
    ("watchdog", "shutdown"): ("WATCHDOG", "WATCHDOG_SHUTDOWN"),
    ("watchdog", "debug"): ("WATCHDOG", "WATCHDOG_DEBUG"),
    ("io_error", "none"): ("IO_ERROR", "IO_ERROR_NONE"),
    ("io_error", "pause"): ("IO_ERROR", "IO_ERROR_PAUSE"),
    ("io_error", "report"): ("IO_ERROR", "IO_ERROR_REPORT"),
    ("io_error_reason", "enospc"): ("IO_ERROR_REASON", "UNKNOWN"),
    ("control_error", ""): ("CONTROL_ERROR", "UNKNOWN"),
}
# Events it filters out (not in its table): none of them reaches Masakari.
NOT_SENT = [("suspended", "paused"), ("resumed", "unpaused"), ("started", "booted"),
            ("stopped", "crashed"), ("stopped", "migrated"), ("stopped", "saved"),
            ("shutdown", "guest"), ("crashed", "panicked"), ("watchdog", "inject_nmi"),
            ("metadata_change", "element"), ("defined", "updated"), ("undefined", "removed")]


def event(kind: str, detail: str, uuid: str = A_UUID, when: float = 1767225600.25
          ) -> DomainEvent:
    return DomainEvent(uuid, "instance-0000000a", kind, detail, when)


def expected(kind: str, detail: str, uuid: str = A_UUID) -> dict:
    name, vir_event = INSTANCEMONITOR[(kind, detail)]
    return {"event": name, "instance_uuid": uuid, "vir_domain_event": vir_event}


@pytest.mark.parametrize(("kind", "detail"), sorted(INSTANCEMONITOR))
def test_notification_is_what_instancemonitor_sends(kind: str, detail: str) -> None:
    body = masakari.notification(event(kind, detail), HOST)
    assert body == {"type": "VM", "hostname": HOST,
                    "generated_time": "2026-01-01T00:00:00.250000",
                    "payload": expected(kind, detail)}


@pytest.mark.parametrize(("kind", "detail"), NOT_SENT)
def test_events_instancemonitor_ignores_are_not_sent(kind: str, detail: str) -> None:
    assert masakari.notification(event(kind, detail), HOST) is None


@pytest.fixture
def sim() -> Iterator[KeystoneNovaSimulator]:
    with KeystoneNovaSimulator(password=PASSWORD) as started:
        yield started


def credentials_file(tmp_path: pathlib.Path, sim: KeystoneNovaSimulator) -> str:
    path = tmp_path / "credentials.conf"
    path.write_text("\n".join([
        "[service_credentials]", "auth_type = password", f"auth_url = {sim.auth_url}",
        f"username = {sim.username}", f"password = {PASSWORD}", "project_name = service",
        "user_domain_name = Default", "project_domain_name = Default",
        "[nova]", f"host = {HOST}", "timeout = 1"]) + "\n")
    return str(path)


def sink(tmp_path: pathlib.Path, sim: KeystoneNovaSimulator, *, timeout: float = 1.0,
         retry_window: float = 10.0) -> MasakariSink:
    conf = make_conf("test:///default", [credentials_file(tmp_path, sim)])
    found = nova_cmd.credentials(conf, timeout, what="Masakari")
    assert found is not None
    return MasakariSink(MasakariClient(found), HOST, retry_window=retry_window,
                        retry_delay=0.05, retry_max=0.2)


def posted(sim: KeystoneNovaSimulator) -> list[dict]:
    return [n["payload"] for n in sim.notifications]


def test_service_posts_a_destroyed_domain_once(service_factory, node_file, tmp_path,
                                               sim) -> None:
    svc = service_factory(fixtures.test_node_uri(node_file),
                          [credentials_file(tmp_path, sim)], libvirt__read_only=False,
                          events__stop_delay=0.0, masakari__enabled=True)
    dom = svc.connection.get().lookupByUUIDString(A_UUID)
    dom.suspend()  # paused: instancemonitor does not report it
    dom.resume()
    dom.destroy()
    wait_for(lambda: sim.notifications, what="a notification")
    wait_for(lambda: svc.events.counters.count(A_UUID, "stopped"), what="the stop")
    time.sleep(0.2)  # anything else would have arrived by now
    assert posted(sim) == [expected("stopped", "destroyed")]
    note = sim.notifications[0]
    assert (note["type"], note["hostname"]) == ("VM", HOST)
    values = {n: s[0].value for n, s in parse(scrape_text(svc)).items()
              if n.startswith("enricher_event_masakari")}
    assert values.pop("enricher_event_masakari_last_success_timestamp_seconds") > 0
    assert values == {"enricher_event_masakari_sent_total": 1,
                      "enricher_event_masakari_failed_total": 0,
                      "enricher_event_masakari_dropped_total": 0,
                      "enricher_event_masakari_queue_length": 0}


def test_service_posts_every_event_kind(service_factory, node_file, tmp_path, sim) -> None:
    """Events the test driver cannot raise (watchdog, I/O error, ...) are put on
    the dispatcher's queue of a test-driver domain, as libvirt's callback would."""
    svc = service_factory(fixtures.test_node_uri(node_file),
                          [credentials_file(tmp_path, sim)], libvirt__read_only=False,
                          events__stop_delay=0.0, masakari__enabled=True)
    dom = svc.connection.get().lookupByUUIDString(A_UUID)
    kinds = sorted(INSTANCEMONITOR) + NOT_SENT
    for n, (kind, detail) in enumerate(kinds):
        svc.events.queue.put(DomainEvent(A_UUID, dom.name(), kind, detail,
                                         time.time() + n * 1e-3, domain=dom))
    wait_for(lambda: len(sim.notifications) >= len(INSTANCEMONITOR), timeout=10,
             what="every notification")
    wait_for(lambda: svc.events.dispatcher.dispatched >= len(kinds), what="all events")
    time.sleep(0.2)
    assert posted(sim) == [expected(k, d) for k, d in sorted(INSTANCEMONITOR)]


def test_the_masakari_sink_is_off_by_default(service_factory, node_file) -> None:
    svc = service_factory(fixtures.test_node_uri(node_file))
    assert svc.events.masakari is None
    assert "enricher_event_masakari" not in scrape_text(svc)


def test_5xx_is_retried(tmp_path, sim) -> None:
    sim.add_fault("notifications", status=503, times=2)
    out = sink(tmp_path, sim)
    assert out.deliver(masakari.notification(event("watchdog", "reset"), HOST))
    assert sim.count("notifications", 503) == 2
    assert posted(sim) == [expected("watchdog", "reset")]
    assert (out.sent, out.failed, out.dropped) == (1, 2, 0)


def test_a_timeout_is_retried_and_the_duplicate_is_a_409(tmp_path, sim) -> None:
    sim.add_fault("notifications", delay=1.0, times=1)
    out = sink(tmp_path, sim, timeout=0.3)
    assert out.deliver(masakari.notification(event("stopped", "failed"), HOST))
    assert out.failed >= 1 and out.sent == 1
    wait_for(lambda: sim.count("notifications", 409), what="the late duplicate")
    assert posted(sim) == [expected("stopped", "failed")]


def test_409_counts_as_delivered(tmp_path, sim) -> None:
    body = masakari.notification(event("io_error", "pause"), HOST)
    sim.create_notification({"notification": body})
    out = sink(tmp_path, sim)
    assert out.deliver(body)
    assert sim.count("notifications", 409) == 1
    assert (out.sent, out.failed, out.dropped) == (1, 0, 0)
    assert out.last_success > 0


def test_a_4xx_is_dropped_at_once(tmp_path, sim) -> None:
    sim.add_fault("notifications", status=400)
    out = sink(tmp_path, sim)
    assert not out.deliver(masakari.notification(event("reboot", ""), HOST))
    assert sim.count("notifications", 400) == 1
    assert (out.sent, out.failed, out.dropped) == (0, 1, 1)


def test_nothing_is_lost_while_masakari_is_down_within_the_window(tmp_path, sim) -> None:
    out = sink(tmp_path, sim, retry_window=10.0)
    out.start()
    try:
        sim.stop()
        kinds = [("stopped", "destroyed"), ("watchdog", "poweroff"), ("control_error", "")]
        for n, (kind, detail) in enumerate(kinds):
            assert out.submit(masakari.notification(event(kind, detail, when=1e9 + n), HOST))
        wait_for(lambda: out.failed >= 3, what="failed attempts")
        sim.start()  # same port
        wait_for(lambda: out.sent == 3, what="all three sent")
        assert posted(sim) == [expected(k, d) for k, d in kinds]
        assert (out.sent, out.dropped, out.queued) == (3, 0, 0)
    finally:
        out.stop()


def test_down_longer_than_the_window_is_dropped_and_counted(tmp_path, sim) -> None:
    out = sink(tmp_path, sim, retry_window=0.5)
    sim.stop()
    started = time.monotonic()
    assert not out.deliver(masakari.notification(event("stopped", "destroyed"), HOST))
    assert time.monotonic() - started < 3.0
    assert out.dropped == 1 and out.sent == 0 and out.failed >= 2


def test_a_dead_masakari_blocks_neither_dispatch_nor_scrape(service_factory, node_file,
                                                            tmp_path, sim) -> None:
    svc = service_factory(fixtures.test_node_uri(node_file),
                          [credentials_file(tmp_path, sim)], events__stop_delay=0.0,
                          masakari__enabled=True, masakari__queue_size=5)
    sim.stop()
    dom = svc.connection.get().lookupByUUIDString(A_UUID)
    for n in range(50):
        svc.events.queue.put(DomainEvent(A_UUID, dom.name(), "watchdog", "reset",
                                         time.time() + n * 1e-3, domain=dom))
    wait_for(lambda: svc.events.dispatcher.dispatched >= 50, what="all dispatched")
    started = time.perf_counter()
    text = scrape_text(svc)
    assert time.perf_counter() - started < 1.0
    assert svc.events.counters.count(A_UUID, "watchdog") == 50
    out = svc.events.masakari
    assert out.sent == 0 and out.dropped >= 44, (out.sent, out.dropped)
    assert "enricher_event_masakari_dropped_total" in text


def test_enabled_without_events_or_credentials_is_a_config_error(tmp_path, sim) -> None:
    with pytest.raises(cfg.Error, match="needs \\[events\\] enabled"):
        masakari_sink(make_conf("test:///default", [credentials_file(tmp_path, sim)],
                                masakari__enabled=True, events__enabled=False))
    with pytest.raises(cfg.Error, match="needs \\[service_credentials\\]"):
        masakari_sink(make_conf("test:///default", masakari__enabled=True))
    assert masakari_sink(make_conf("test:///default")) is None
