"""Domain events on the libvirt test driver: counters, tenancy refresh, delays, retention.

The test driver emits lifecycle events for suspend/resume/destroy/create and
metadata-change for setMetadata, but only to callbacks on the same
connection, so every mutation goes through the enricher's own connection.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import libvirt
import pytest

from enricher.events.counters import EventCounters
from enricher.events.dispatch import Dispatcher
from enricher.events.monitor import EventMonitor
from enricher.exceptions import DomainGone
from enricher.health import ErrorCounts
from enricher.libvirt import events as libvirt_events
from enricher.libvirt.connection import Connection
from enricher.libvirt.events import Subscription
from enricher.tenancy import model
from enricher.tenancy.resolver import Fallback, Resolver
from tests import fixtures
from tests.functional.conftest import make_conf, parse, scrape_text

A_UUID = "e22c05ef-5d01-420e-8189-a451e4f10d3e"  # instance-0000000a, running
NOVA_1_1 = "http://openstack.org/xmlns/libvirt/nova/1.1"
EXPECTED = {e["domain_uuid"]: e for e in fixtures.expected().values()
            if e.get("in_test_node")}
TENANT_LABELS = ("instance_uuid", "project_id", "project_name", "user_id",
                 "user_name", "flavor")
NEW_UUID = "5d7e3f0a-7b7e-4d39-9d8a-3c4f2b1a0e99"
NEW_DOMAIN = """<domain type='test'>
  <name>instance-000000ff</name>
  <uuid>%s</uuid>
  <metadata>
    <nova:instance xmlns:nova="%s">
      <nova:name>late-arrival</nova:name>
      <nova:flavor name="m1.tiny"/>
      <nova:owner>
        <nova:user uuid="7a1f0e9a1c2b4d3e8f7a6b5c4d3e2f1a">carol</nova:user>
        <nova:project uuid="0f1e2d3c4b5a69788796a5b4c3d2e1f0">latecomers</nova:project>
      </nova:owner>
    </nova:instance>
  </metadata>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
</domain>""" % (NEW_UUID, NOVA_1_1)


def wait_for(probe: Callable[[], Any], timeout: float = 5.0, what: str = "") -> Any:
    """Poll ``probe`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(0.01)


def expected_labels(uuid: str) -> dict[str, str]:
    entry = EXPECTED[uuid]
    nova = entry.get("nova") or {}

    def name(value: str | None) -> str:
        return "" if value in (None, model.UNKNOWN_NAME) else value

    return {
        "domain": entry["domain_name"],
        "uuid": uuid,
        "instance_uuid": uuid if nova else "",
        "project_id": nova.get("project_id") or "",
        "project_name": name(nova.get("project_name")),
        "user_id": nova.get("user_id") or "",
        "user_name": name(nova.get("user_name")),
        "flavor": (nova.get("flavor") or {}).get("name") or "",
    }


def event_samples(text: str, uuid: str) -> dict[tuple[str, str], Any]:
    """(event, detail) -> sample of libvirt_domain_events_total for one domain."""
    return {(s.labels["event"], s.labels["detail"]): s
            for s in parse(text).get("libvirt_domain_events_total", [])
            if s.labels["uuid"] == uuid}


@pytest.fixture
def events_service(service_factory, node_file) -> Callable[..., Any]:
    """An enricher with events on a private, writable test node."""
    def start(**overrides: object) -> Any:
        overrides.setdefault("libvirt__read_only", False)
        overrides.setdefault("events__stop_delay", 0.0)
        return service_factory(fixtures.test_node_uri(node_file), **overrides)
    return start


def test_lifecycle_events_counted_with_tenant_labels(events_service, caplog) -> None:
    caplog.set_level(logging.INFO, logger="enricher.event_log")
    svc = events_service()
    dom = svc.connection.get().lookupByUUIDString(A_UUID)
    started = time.monotonic()
    dom.suspend()
    dom.resume()
    dom.destroy()
    dom.create()
    wait_for(lambda: svc.events.dispatcher.dispatched == 4, what="4 events")
    latency = time.monotonic() - started
    text = scrape_text(svc)

    counted = event_samples(text, A_UUID)
    assert {k: s.value for k, s in counted.items()} == {
        ("suspended", "paused"): 1, ("resumed", "unpaused"): 1,
        ("stopped", "destroyed"): 1, ("started", "booted"): 1}
    want = expected_labels(A_UUID)
    assert want["project_name"] == "webteam"
    for sample in counted.values():
        assert {k: sample.labels[k] for k in want} == want
    last = {s.labels["event"]: s.value for s in parse(text)[
        "libvirt_domain_last_event_timestamp_seconds"] if s.labels["uuid"] == A_UUID}
    assert set(last) == {"suspended", "resumed", "stopped", "started"}
    assert all(abs(t - time.time()) < 60 for t in last.values())
    # Every other domain had no event.
    assert {s.labels["uuid"] for s in parse(text)["libvirt_domain_events_total"]} == {A_UUID}
    # ... and each event is one JSON log line with the tenancy.
    records = [json.loads(r.getMessage()) for r in caplog.records
               if r.name == "enricher.event_log"]
    assert [(r["event"], r["detail"]) for r in records] == [
        ("suspended", "paused"), ("resumed", "unpaused"),
        ("stopped", "destroyed"), ("started", "booted")]
    assert all(r["project_id"] == want["project_id"] and r["instance_name"] == "web-01"
               and r["uuid"] == A_UUID for r in records)
    assert latency < 2.0, latency


def test_metadata_change_shows_new_project_next_scrape_without_other_reads(
        events_service) -> None:
    svc = events_service()
    before = parse(scrape_text(svc))
    reads = svc.resolver.reads
    assert reads == len(EXPECTED)
    dom = svc.connection.get().lookupByUUIDString(A_UUID)
    new = ('<instance><owner><project uuid="0123456789abcdef0123456789abcdef">'
           'newteam</project><user uuid="fedcba9876543210fedcba9876543210">bob</user>'
           '</owner><flavor name="m1.huge"/></instance>')
    dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, new, "nova", NOVA_1_1, 0)
    wait_for(lambda: svc.events.counters.count(A_UUID, "metadata_change"),
             what="the metadata_change event")
    assert svc.resolver.reads == reads + 1  # this domain alone, read at once

    after = parse(scrape_text(svc))
    assert svc.resolver.reads == reads + 1  # the scrape re-read nothing
    state = {s.labels["uuid"]: s.labels for s in after["libvirt_domain_info_state"]}
    assert state[A_UUID]["project_name"] == "newteam"
    assert state[A_UUID]["project_id"] == "0123456789abcdef0123456789abcdef"
    assert state[A_UUID]["flavor"] == "m1.huge"
    old_state = {s.labels["uuid"]: s.labels for s in before["libvirt_domain_info_state"]}
    for uuid in EXPECTED:
        if uuid != A_UUID:
            assert state[uuid] == old_state[uuid]
    # The event itself carries the new tenancy.
    sample = event_samples(scrape_text(svc), A_UUID)[("metadata_change", "element")]
    assert sample.labels["project_name"] == "newteam"
    assert sample.value == 1


def test_unknown_domain_seen_in_an_event_is_resolved_at_once(events_service) -> None:
    svc = events_service()
    scrape_text(svc)
    reads = svc.resolver.reads
    svc.connection.get().defineXML(NEW_DOMAIN)
    wait_for(lambda: svc.events.counters.count(NEW_UUID, "defined"), what="defined")
    assert svc.resolver.reads == reads + 1
    text = scrape_text(svc)
    assert svc.resolver.reads == reads + 1
    sample = event_samples(text, NEW_UUID)[("defined", "added")]
    assert sample.labels["project_name"] == "latecomers"
    assert sample.labels["user_name"] == "carol"
    assert sample.labels["flavor"] == "m1.tiny"
    assert sample.labels["domain"] == "instance-000000ff"


def test_undefined_domain_keeps_its_counters_and_leaves_the_cache(events_service) -> None:
    svc = events_service(events__retention=3600)
    conn = svc.connection.get()
    dom = conn.defineXML(NEW_DOMAIN)
    # A domain undefined before its first event is dispatched cannot be read.
    wait_for(lambda: svc.events.counters.count(NEW_UUID, "defined"), what="defined")
    dom.create()
    dom.destroy()
    dom.undefine()
    wait_for(lambda: svc.events.counters.count(NEW_UUID, "undefined"), what="undefined")
    with pytest.raises(DomainGone):  # not cached any more: read, and gone
        svc.resolver.lookup(NEW_UUID, dom)
    text = scrape_text(svc)  # the domain is gone from this collection
    counted = {k: s.value for k, s in event_samples(text, NEW_UUID).items()}
    assert counted == {("defined", "added"): 1, ("started", "booted"): 1,
                       ("stopped", "destroyed"): 1, ("undefined", "removed"): 1}
    assert all(s.labels["project_name"] == "latecomers"
               for s in event_samples(text, NEW_UUID).values())


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@dataclasses.dataclass
class Pipeline:
    """Subscription + synchronous Dispatcher on the test driver, no dispatch thread."""

    conn: Any
    events: queue.Queue
    resolver: Resolver
    dispatcher: Dispatcher
    counters: EventCounters
    clock: FakeClock
    order: list[str]

    def domain(self, uuid: str = A_UUID) -> Any:
        """The test driver's virDomain, through the connection the events come from."""
        return self.conn.lookupByUUIDString(uuid)

    def queued(self, count: int, what: str) -> list:
        """The queued events, once there are ``count`` of them."""
        return wait_for(lambda: self.events.qsize() == count and list(self.events.queue),
                        what=what)


@pytest.fixture
def fallback() -> Fallback | None:
    """The pipeline's Nova fallback: none, unless a test parametrizes one."""
    return None


@pytest.fixture
def pipeline(node_file, fallback) -> Iterator[Pipeline]:
    errors = ErrorCounts()
    events: queue.Queue = queue.Queue()
    subscription = Subscription(events, errors)
    loop = libvirt_events.default_loop()
    loop.acquire()
    connection = Connection(fixtures.test_node_uri(node_file), read_only=False)
    connection.on_reconnect.append(subscription.register)
    resolver = Resolver(errors, fallback=fallback)
    counters = EventCounters(TENANT_LABELS, retention=600)
    clock = FakeClock()
    order: list[str] = []
    dispatcher = Dispatcher(events, resolver,
                            [counters.record, lambda e, t: order.append(e.event)],
                            errors, stop_delay=10.0, clock=clock)
    yield Pipeline(connection.get(), events, resolver, dispatcher, counters, clock, order)
    subscription.close()
    connection.close()
    loop.release()


def test_a_stop_followed_by_a_start_within_the_delay_is_a_reboot(pipeline) -> None:
    dispatcher, counters, clock = pipeline.dispatcher, pipeline.counters, pipeline.clock
    dom = pipeline.domain()
    dom.destroy()
    dom.create()
    pipeline.queued(2, "2 queued events")
    assert dispatcher.dispatch_pending() == 2
    assert counters.count(A_UUID, "stopped") == 0
    assert counters.count(A_UUID, "started", "booted") == 1
    assert dispatcher.reboots == 1

    dom.destroy()
    pipeline.queued(1, "the stop")
    dispatcher.dispatch_pending()
    assert dispatcher.held == 1
    clock.now += 9.9
    dispatcher.dispatch_pending()
    assert counters.count(A_UUID, "stopped") == 0
    clock.now += 0.2
    dispatcher.dispatch_pending()
    assert counters.count(A_UUID, "stopped", "destroyed") == 1
    assert dispatcher.held == 0


def test_another_event_releases_a_held_stop_in_order(pipeline) -> None:
    dom = pipeline.domain()
    dom.destroy()
    dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_TITLE, "renamed", None, None, 0)
    pipeline.queued(2, "2 queued events")
    pipeline.dispatcher.dispatch_pending()
    assert pipeline.order == ["stopped", "metadata_change"]
    assert pipeline.counters.count(A_UUID, "metadata_change", "title") == 1


def test_callbacks_only_enqueue_until_dispatched(pipeline) -> None:
    dom = pipeline.domain()
    dom.suspend()
    dom.resume()
    items = pipeline.queued(2, "events")
    assert [(i.event, i.detail, i.uuid, i.name) for i in items] == [
        ("suspended", "paused", A_UUID, "instance-0000000a"),
        ("resumed", "unpaused", A_UUID, "instance-0000000a")]
    assert pipeline.counters.count(A_UUID, "suspended") == 0  # nothing consumed yet
    assert pipeline.dispatcher.dispatch_pending() == 2
    assert pipeline.counters.count(A_UUID, "suspended") == 1


NO_METADATA_UUID = "a7878093-579a-4b79-89df-5f9698a118db"  # ubuntu22.04, running


class CachedNova:
    """A Nova fallback whose cache already knows one server."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def complete(self, wanted: Mapping[str, tuple[str, model.Tenancy]]
                 ) -> dict[str, model.Tenancy]:
        self.asked.extend(wanted)
        return {u: model.Tenancy(instance_uuid=u, project_id="nova-project",
                                 project_name="from-nova", source=model.SOURCE_NOVA_API)
                for u in wanted if u == NO_METADATA_UUID}

    def forget(self, uuid: str) -> None:
        """Nothing to forget."""


@pytest.mark.parametrize("fallback", [CachedNova()])
def test_event_of_a_domain_without_metadata_gets_the_nova_tenancy(pipeline, fallback) -> None:
    nova = fallback
    pipeline.domain(NO_METADATA_UUID).suspend()
    pipeline.queued(1, "the suspend")
    pipeline.dispatcher.dispatch_pending()
    assert nova.asked == [NO_METADATA_UUID]
    (labels, event, detail), = pipeline.counters.rows().counts
    assert (event, detail) == ("suspended", "paused")
    assert dict(zip(("domain", "uuid", *TENANT_LABELS), labels, strict=True))[
        "project_name"] == "from-nova"


def test_monitor_dispatches_synchronously_when_asked(node_file) -> None:
    conf = make_conf(fixtures.test_node_uri(node_file), libvirt__read_only=False,
                     events__stop_delay=0.0)
    errors = ErrorCounts()
    connection = Connection.from_conf(conf)
    resolver = Resolver(errors)
    monitor = EventMonitor(conf, connection, resolver, errors)
    monitor.start(dispatch=False)
    try:
        connection.get().lookupByUUIDString(A_UUID).suspend()
        wait_for(lambda: monitor.queue.qsize() == 1, what="the queued suspend")
        assert monitor.counters.count(A_UUID, "suspended") == 0
        assert monitor.stats()["enricher_event_queue_length"] == 1
        assert monitor.dispatch_pending() == 1
        assert monitor.counters.count(A_UUID, "suspended", "paused") == 1
    finally:
        monitor.stop()
        connection.close()


def test_reconnect_registers_again_and_counters_continue(events_service) -> None:
    svc = events_service()
    conn = svc.connection.get()
    conn.lookupByUUIDString(A_UUID).suspend()
    wait_for(lambda: svc.events.counters.count(A_UUID, "suspended"), what="suspend")
    svc.connection.drop("test: connection lost")
    # Nothing collects: the dispatcher reconnects (after the back-off) by itself.
    wait_for(lambda: svc.events.subscription.registrations == 2, timeout=10,
             what="callbacks registered on the new connection")
    assert svc.connection.connected
    new = svc.connection.get()
    assert new is not conn
    new.lookupByUUIDString(A_UUID).suspend()  # a fresh test driver: running again
    wait_for(lambda: svc.events.counters.count(A_UUID, "suspended") == 2,
             what="the second suspend")
    values = {s.name: s.value for s in parse(scrape_text(svc))
              ["enricher_event_reconnects_total"]}
    assert values == {"enricher_event_reconnects_total": 1}
    suspended = event_samples(scrape_text(svc), A_UUID)[("suspended", "paused")]
    assert suspended.value == 2


def test_json_event_log_file(events_service, tmp_path) -> None:
    path = tmp_path / "events.jsonl"
    svc = events_service(events__log_file=str(path))
    svc.connection.get().lookupByUUIDString(A_UUID).suspend()
    lines = wait_for(lambda: path.exists() and path.read_text().splitlines(),
                     what="a line in %s" % path)
    record = json.loads(lines[0])
    want = expected_labels(A_UUID)
    assert record["event"] == "suspended" and record["detail"] == "paused"
    assert record["domain"] == want["domain"]
    assert {k: record[k] for k in TENANT_LABELS} == {k: want[k] for k in TENANT_LABELS}
    assert record["tenancy_source"] == "metadata"
    assert record["time"].endswith("Z")


def test_stop_leaves_no_event_threads(events_service) -> None:
    svc = events_service()
    assert libvirt_events.default_loop().running
    svc.stop()
    names = {t.name for t in threading.enumerate()}
    assert not {"event-dispatch", "libvirt-event-loop"} & names
    assert not libvirt_events.default_loop().running


def test_events_can_be_disabled(service_factory, node_file) -> None:
    svc = service_factory(fixtures.test_node_uri(node_file), events__enabled=False)
    assert svc.events is None
    text = scrape_text(svc)
    assert "libvirt_domain_events_total" not in text
    assert "enricher_event_queue_length" not in text


def test_unwritable_event_log_fails_at_start_naming_the_option(tmp_path) -> None:
    config = tmp_path / "enricher.conf"
    config.write_text("[libvirt]\nconnection_uri = %s\n[events]\nlog_file = %s\n"
                      % (fixtures.test_node_uri(), tmp_path / "missing" / "events.jsonl"))
    result = subprocess.run(
        [sys.executable, "-m", "enricher.cmd.enricher", "--config-file", str(config)],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    assert errors[0].startswith("enricher: error: cannot open [events] log_file ")


def test_sigterm_stops_the_event_threads_cleanly(node_file, tmp_path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "enricher.conf"
    config.write_text("[libvirt]\nconnection_uri = %s\n[prometheus]\nhost = 127.0.0.1\n"
                      "port = %d\n[events]\nstop_delay = 30\n"
                      % (fixtures.test_node_uri(node_file), port))
    proc = subprocess.Popen(
        [sys.executable, "-m", "enricher.cmd.enricher", "--config-file", str(config)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = "http://127.0.0.1:%d/metrics" % port

        def serving() -> bool:
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    return b"enricher_event_queue_length" in resp.read()
            except OSError:
                return False

        wait_for(serving, timeout=30, what=url)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, output
    assert time.monotonic() - started < 5, output
    assert "Traceback" not in output and "Stopping" in output, output
