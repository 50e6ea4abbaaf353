"""The REST API (vAdvisor's /api/v1.0) and vm_up on the libvirt test driver.

Every endpoint and parameter, the 400s and 404s, both port layouts, the
event stream's latency and keep-alive, max_streams, and vm_up through
shut-off, the stale period and removal.
"""

from __future__ import annotations

import http.client
import itertools
import json
import pathlib
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from enricher.exporters import rest_openapi, xml_json
from tests import fixtures
from tests.functional.conftest import parse, scrape_text
from tests.functional.enricher_process import free_port
from tests.simulators.keystone_nova import KeystoneNovaSimulator, ServerRecord

A_UUID = "e22c05ef-5d01-420e-8189-a451e4f10d3e"  # instance-0000000a, running, webteam
A_NAME = "instance-0000000a"
UBUNTU = "a7878093-579a-4b79-89df-5f9698a118db"  # no metadata: Nova fills it
HOST = "compute-test"
PASSWORD = "api-test-password"
HOSTILE = 'evil "}\n,{\\u0000 ]\u2028\U0001f600'

pytestmark = pytest.mark.filterwarnings("ignore::openstack.warnings.RemovedInSDK50Warning")


def get(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path),
                                    timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def get_json(port: int, path: str, status: int = 200) -> Any:
    code, headers, body = get(port, path)
    assert code == status, (path, code, body[:300])
    assert headers["Content-Type"] == "application/json", path
    return json.loads(body)


def wait_for(probe, timeout: float = 10.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while not (result := probe()):
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.02)
    return result


@pytest.fixture
def api(service_factory, node_file):
    def start(**overrides: object):
        overrides.setdefault("libvirt__read_only", False)
        overrides.setdefault("events__stop_delay", 0.0)
        return service_factory(fixtures.test_node_uri(node_file), **overrides)
    return start


def test_stats_history_live_one_domain_and_errors(api) -> None:
    svc = api(interval=0.2)
    port = svc.server.port
    svc.sampler.latest()
    stats = wait_for(lambda: (s := get_json(port, "/api/v1.0/stats"))
                     and len(s[A_UUID]) >= 3 and s, what="three samples")
    uuids = {s.uuid for s in svc.sampler.snapshot.samples}
    assert set(stats) == uuids
    records = stats[A_UUID]
    times = [r["timestamp"] for r in records]
    assert times == sorted(times) and len(set(times)) == len(times)
    assert max(times) - min(times) <= 60.0
    first = records[-1]
    assert first["domain"] == A_NAME and first["state_name"] == "running"
    assert first["tenancy"]["project_name"] == "webteam"
    assert first["tenancy"]["instance_uuid"] == A_UUID
    # The test driver's bulk stats have the state group only; real guests: tests/e2e.
    assert all(isinstance(first[k], list) for k in ("vcpus", "blocks", "nets"))
    # One domain: the same records; with a trailing slash; any case.
    one = get_json(port, "/api/v1.0/stats/%s/" % A_UUID.upper())
    assert [r["timestamp"] for r in one][:2] == times[-len(one):][:2]
    # Live: one fresh sample per domain.
    live = get_json(port, "/api/v1.0/stats?live=true")
    assert set(live) == uuids and all(len(v) == 1 for v in live.values())
    assert live[A_UUID][0]["tenancy"]["project_name"] == "webteam"
    assert len(get_json(port, "/api/v1.0/stats/%s?live=true" % A_UUID)) == 1
    # Errors: JSON naming what was wrong.
    missing = get_json(port, "/api/v1.0/stats/00000000-0000-0000-0000-000000000000", 404)
    assert missing["status"] == 404 and "UUID" in missing["error"]
    bad = get_json(port, "/api/v1.0/stats?live=maybe", 400)
    assert bad["parameter"] == "live"
    assert get_json(port, "/api/v1.0/nothing", 404)["status"] == 404
    assert set(get_json(port, "/api/v1.0/")["endpoints"]) >= {"/api/v1.0/stats"}


def test_live_at_scrape_time_shares_one_collection(api) -> None:
    svc = api(interval=0)
    before = svc.sampler.snapshot.sequence
    live = get_json(svc.server.port, "/api/v1.0/stats?live=true")
    assert A_UUID in live
    assert svc.sampler.snapshot.sequence == before + 1
    # The history holds what collections happened (here: that one).
    assert len(get_json(svc.server.port, "/api/v1.0/stats")[A_UUID]) == 1


def _events(port: int, query: str = "") -> list[dict[str, Any]]:
    return get_json(port, "/api/v1.0/events" + query)


def test_events_history_with_vadvisor_parameters(api) -> None:
    svc = api()
    port = svc.server.port
    dom = svc.connection.get().lookupByUUIDString(A_UUID)
    started = time.time()
    for action in (dom.suspend, dom.resume, dom.destroy, dom.create):
        action()
    wait_for(lambda: svc.events.dispatcher.dispatched == 4, what="4 events")
    every = _events(port)
    assert [(e["event"], e["detail"]) for e in every] == [
        ("suspended", "paused"), ("resumed", "unpaused"),
        ("stopped", "destroyed"), ("started", "booted")]
    first = every[0]
    assert first["event_type"] == "Suspended" and first["reason"] == "paused"
    assert first["domain_id"] == A_UUID and first["domain_name"] == A_NAME
    assert first["project_name"] == "webteam" and first["uuid"] == A_UUID
    # max_events: the latest ones, oldest first; 0 and -1 mean all.
    assert [e["event"] for e in _events(port, "?max_events=2")] == ["stopped", "started"]
    assert len(_events(port, "?max_events=0")) == len(_events(port, "?max_events=-1")) == 4
    # Kinds: vAdvisor's <kind>_events, all_events.
    assert [e["event"] for e in _events(port, "?suspended_events=true")] == ["suspended"]
    assert [e["event"] for e in _events(
        port, "?stopped_events=true&started_events=true")] == ["stopped", "started"]
    assert len(_events(port, "?all_events=true&suspended_events=true")) == 4
    assert _events(port, "?watchdog_events=true") == []
    # Time window: ISO 8601 (UTC without offset) or Unix seconds.
    assert _events(port, "?start_time=%f" % (time.time() + 5)) == []
    assert _events(port, "?end_time=%f" % (started - 60)) == []
    assert len(_events(port, "?start_time=2000-01-01T00:00:00&end_time=%s" % (
        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 60))))) == 4
    # Bad values: 400 naming the parameter.
    for query, parameter in (("max_events=ten", "max_events"), ("max_events=-2", "max_events"),
                             ("start_time=yesterday", "start_time"),
                             ("end_time=2020-13-01", "end_time"),
                             ("stream=yes-please", "stream"),
                             ("crashed_events=on", "crashed_events"),
                             ("start_time=20&end_time=10", "start_time")):
        error = get_json(port, "/api/v1.0/events?" + query, 400)
        assert error["parameter"] == parameter, query


class Stream:
    """A raw client of /api/v1.0/events?stream=true reading JSON lines."""

    def __init__(self, port: int, query: str = "") -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        self.conn.request("GET", "/api/v1.0/events?stream=true" + query)
        self.resp = self.conn.getresponse()

    def line(self) -> bytes:
        return self.resp.readline()

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def streams() -> Iterator[list[Stream]]:
    opened: list[Stream] = []
    yield opened
    for stream in opened:
        stream.close()


def test_stream_sees_an_event_within_a_second_and_keeps_alive(api, streams) -> None:
    svc = api(api__stream_keepalive=0.3)
    port = svc.server.port
    stream = Stream(port, "&suspended_events=true")
    streams.append(stream)
    assert stream.resp.status == 200
    assert stream.resp.headers["Content-Type"] == "application/x-ndjson"
    assert stream.resp.headers["Transfer-Encoding"] == "chunked"
    assert stream.line() == b"\n"  # a keep-alive after 0.3 s of silence
    wait_for(lambda: svc.api.events.subscribers == 1, what="the subscription")
    dom = svc.connection.get().lookupByUUIDString(A_UUID)
    sent = time.monotonic()
    dom.suspend()
    while (line := stream.line()) == b"\n":
        pass
    latency = time.monotonic() - sent
    event = json.loads(line)
    assert event["event"] == "suspended" and event["project_name"] == "webteam"
    assert latency < 1.0, latency
    # The filter holds: a resume is not sent, keep-alives are.
    dom.resume()
    dom.suspend()
    while (line := stream.line()) == b"\n":
        pass
    assert json.loads(line)["event"] == "suspended"


def test_streams_have_their_own_share_and_end_on_stop(api, streams) -> None:
    svc = api(api__max_streams=2, prometheus__max_connections=8)
    port = svc.server.port
    streams += [Stream(port), Stream(port)]
    assert [s.resp.status for s in streams] == [200, 200]
    third = Stream(port)
    streams.append(third)
    assert third.resp.status == 503
    assert svc.server.stats.streams_rejected == 1
    # /metrics is still served while the streams are open, many times over.
    for _ in range(20):
        assert "vm_up" in scrape_text(svc)
    assert svc.server.stats.streams == 2
    svc.stop()
    # Each stream ends with the chunked terminator: a clean end, no IncompleteRead.
    for stream in streams[:2]:
        assert stream.resp.read() in (b"", b"\n")
    assert svc.api.events.subscribers == 0


def _strip(spec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in spec.items() if k not in ("uuid", "name", "tenancy")}


def test_specs_from_the_cached_xml_round_trip(api) -> None:
    svc = api(interval=1)
    port = svc.server.port
    snap = wait_for(lambda: svc.sampler.snapshot.descriptions and svc.sampler.snapshot,
                    what="a snapshot")
    specs = get_json(port, "/api/v1.0/specs")
    assert {s["uuid"] for s in specs} == set(snap.descriptions)
    one = get_json(port, "/api/v1.0/specs/" + A_UUID)
    assert one == get_json(port, "/api/v1.0/specs/" + A_NAME) == next(
        s for s in specs if s["uuid"] == A_UUID)
    assert one["tenancy"]["project_name"] == "webteam"
    assert one["domain"]["name"]["#text"] == A_NAME
    xml = snap.description_of(A_UUID).xml
    assert xml_json.to_json(xml_json.from_json(_strip(one))) == xml_json.to_json(xml)
    assert _strip(one) == xml_json.to_json(xml)
    missing = get_json(port, "/api/v1.0/specs/no-such-domain", 404)
    assert "no-such-domain" in missing["error"]


def test_openapi_document_is_served(api) -> None:
    svc = api()
    served = get_json(svc.server.port, "/api/v1.0/openapi.json")
    assert served == rest_openapi.document()
    served_paths = set(served["paths"])
    assert {"/api/v1.0/stats", "/api/v1.0/events", "/api/v1.0/specs"} <= served_paths


def test_api_on_a_port_of_its_own(api) -> None:
    port = free_port()
    svc = api(api__port=port)
    assert svc.api.server is not None and svc.api.server.port == port
    assert get_json(port, "/")["endpoints"][0] == "/api/v1.0/stats"
    assert A_UUID in get_json(port, "/api/v1.0/stats?live=true")
    assert get(svc.server.port, "/api/v1.0/stats")[0] == 404  # not on /metrics' port
    assert get(port, "/metrics")[0] == 404
    assert "vm_up" in scrape_text(svc)


def test_api_on_the_metrics_port_when_the_port_is_the_same(api) -> None:
    port = free_port()
    svc = api(api__port=port, prometheus__port=port)
    assert svc.api.server is None and svc.server.port == port
    assert A_UUID in get_json(port, "/api/v1.0/stats?live=true")
    status, headers, page = get(port, "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b'href="/metrics"' in page and b'href="/api/v1.0/stats"' in page


def test_api_can_be_disabled(api) -> None:
    svc = api(api__enabled=False)
    assert get(svc.server.port, "/api/v1.0/stats")[0] == 404
    assert "vm_up" not in scrape_text(svc)


def _vm_up(svc) -> dict[str, float]:
    return {s.labels["uuid"]: s.value for s in parse(scrape_text(svc)).get("vm_up", [])}


def test_vm_up_through_shut_off_stale_period_and_gone(api) -> None:
    svc = api(interval=0, api__vm_up_stale_period=1)
    up = _vm_up(svc)
    assert up[A_UUID] == 1
    labels = next(s.labels for s in parse(scrape_text(svc))["vm_up"]
                  if s.labels["uuid"] == A_UUID)
    assert labels["project_name"] == "webteam" and labels["domain"] == A_NAME
    svc.connection.get().lookupByUUIDString(A_UUID).destroy()
    assert _vm_up(svc)[A_UUID] == 0
    time.sleep(0.5)
    assert _vm_up(svc)[A_UUID] == 0  # still within the stale period
    time.sleep(0.7)
    assert A_UUID not in _vm_up(svc)
    svc.connection.get().lookupByUUIDString(A_UUID).create()
    assert _vm_up(svc)[A_UUID] == 1


@pytest.fixture
def nova_conf(tmp_path: pathlib.Path) -> Iterator[str]:
    sim = KeystoneNovaSimulator(password=PASSWORD).start()
    sim.add_server(ServerRecord(id=UBUNTU, name=HOSTILE, tenant_id="1" * 32,
                                user_id="2" * 32, host=HOST, instance_name="ubuntu22.04",
                                flavor_id="11", flavor_name="m2.ubuntu"))
    sim.add_project("1" * 32, HOSTILE)
    path = tmp_path / "nova.conf"
    path.write_text("\n".join([
        "[service_credentials]", "auth_type = password", f"auth_url = {sim.auth_url}",
        f"username = {sim.username}", f"password = {PASSWORD}", "project_name = service",
        "user_domain_name = Default", "project_domain_name = Default",
        "[nova]", f"host = {HOST}", "timeout = 1", "refresh_min_interval = 0"]) + "\n")
    yield str(path)
    sim.stop()


def test_nova_tenancy_and_hostile_names_come_out_intact(service_factory, node_file,
                                                        nova_conf) -> None:
    svc = service_factory(fixtures.test_node_uri(node_file), [nova_conf])
    port = svc.server.port
    record = wait_for(lambda: (r := get_json(port, "/api/v1.0/stats?live=true")[UBUNTU][0])
                      and r["tenancy"]["flavor"] == "m2.ubuntu" and r, what="Nova's tenancy")
    assert record["tenancy"]["instance_name"] == HOSTILE
    assert record["tenancy"]["source"] == "nova-api"
    spec = get_json(port, "/api/v1.0/specs/" + UBUNTU)
    assert spec["tenancy"]["instance_name"] == HOSTILE
    assert get(port, "/api/v1.0/stats")[2].isascii()


def test_history_every_second_between_full_collections(api) -> None:
    svc = api(interval=30, api__history_interval=1)
    port = svc.server.port
    assert svc.api.light is not None
    svc.sampler.latest()  # the first full collection
    records = wait_for(lambda: len(r := get_json(port, "/api/v1.0/stats/" + A_UUID)) >= 3
                       and r, what="three records a second apart")
    gaps = [b["timestamp"] - a["timestamp"] for a, b in itertools.pairwise(records)]
    assert all(0.5 < gap < 2.0 for gap in gaps), gaps
    assert all(r["tenancy"]["project_name"] == "webteam" for r in records)
    # The light collections fill the history only: one full collection so far,
    # and no request collects.
    sequence = svc.sampler.snapshot.sequence
    for path in ("/api/v1.0/stats", "/api/v1.0/stats?live=true", "/api/v1.0/specs"):
        get_json(port, path)
    assert svc.sampler.snapshot.sequence == sequence <= 2
    ring = svc.api.history.rings[A_UUID]
    assert len({id(slow) for _fast, slow in ring.records}) <= sequence  # carried, shared


def test_history_is_bounded_by_its_window(api) -> None:
    svc = api(interval=0.2, api__history_seconds=1)
    wait_for(lambda: svc.sampler.snapshot.sequence >= 12, what="12 collections")
    records = get_json(svc.server.port, "/api/v1.0/stats/" + A_UUID)
    assert 2 <= len(records) <= svc.api.history.capacity == 6
    assert records[-1]["timestamp"] - records[0]["timestamp"] <= 1.0


def test_api_port_in_use_fails_at_start_naming_the_option(node_file) -> None:
    import socket

    from oslo_config import cfg

    from enricher.cmd.enricher import Service
    from tests.functional.conftest import make_conf
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        conf = make_conf(fixtures.test_node_uri(node_file), api__port=taken.getsockname()[1])
        with pytest.raises(cfg.Error, match=r"\[api\] host/port"):
            Service(conf)


def test_streams_cost_no_thread_and_are_never_evicted_for_idle_ones(api, streams) -> None:
    import socket
    import threading
    svc = api(api__max_streams=4, prometheus__max_connections=8)
    port = svc.server.port
    before = threading.active_count()
    streams += [Stream(port, "&suspended_events=true") for _ in range(4)]
    wait_for(lambda: svc.api.events.subscribers == 4, what="4 subscriptions")
    assert threading.active_count() == before  # asyncio tasks, not threads
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(4)]
    try:
        wait_for(lambda: svc.server.stats.open == 8, what="8 connections")
        # At the cap: a scrape makes room by closing an idle connection, never a stream.
        assert "vm_up" in scrape_text(svc)
        assert svc.server.stats.evicted >= 1 and svc.server.stats.streams == 4
        svc.connection.get().lookupByUUIDString(A_UUID).suspend()
        for stream in streams:
            while (line := stream.line()) == b"\n":
                pass
            assert json.loads(line)["event"] == "suspended"
    finally:
        for sock in idle:
            sock.close()
