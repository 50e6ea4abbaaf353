"""Nova API fallback wired into the enricher: test driver + simulator over real HTTP."""

from __future__ import annotations

import logging
import pathlib
import time
import warnings
from collections.abc import Iterator

import pytest

from enricher.backoff import Backoff
from enricher.cmd import nova as nova_cmd
from enricher.cmd.nova import nova_fallback
from enricher.health import ErrorCounts
from enricher.libvirt.connection import Connection
from enricher.libvirt.stats import StatsReader
from enricher.sampler import Sampler
from enricher.tenancy import model
from enricher.tenancy.fallback import NovaFallback
from enricher.tenancy.resolver import Resolver
from tests import fixtures
from tests.functional.conftest import make_conf, parse, scrape_text
from tests.perf import nodegen
from tests.simulators.keystone_nova import KeystoneNovaSimulator, ServerRecord, make_servers

HOST = "compute-test"
PASSWORD = "Very-S3cret-Pa55!"
UBUNTU = "a7878093-579a-4b79-89df-5f9698a118db"   # no metadata
WIN = "8809a0fb-5e6a-482b-b9f4-91b9e444b46a"      # libosinfo only; Nova does not know it
PARTIAL = "24e4e3d4-da06-4dfe-8397-1ba5ea4eb993"  # owner uuids only, no flavor
TRUNC = "4339e35c-1ca2-4b52-b01e-324c5c39227f"    # user name + flavor only
FULL = "e22c05ef-5d01-420e-8189-a451e4f10d3e"     # complete metadata
META_PROJECT = "231573b9b3b69a8b660b597946abf47e"

SERVERS = [
    ServerRecord(id=UBUNTU, name="ubuntu-vm", tenant_id="1" * 32, user_id="2" * 32,
                 host=HOST, instance_name="ubuntu22.04", flavor_id="11",
                 flavor_name="m2.ubuntu", vcpus=2, ram=4096, disk=40),
    ServerRecord(id=PARTIAL, name="batch-7", tenant_id="f" * 32, user_id="e" * 32,
                 host=HOST, instance_name="instance-0000000c", flavor_id="12",
                 flavor_name="m1.batch"),
    ServerRecord(id=TRUNC, name="half-baked", tenant_id="3" * 32, user_id="4" * 32,
                 host=HOST, instance_name="instance-0000000e", flavor_id="13",
                 flavor_name="m9.other"),
    ServerRecord(id=FULL, name="web-01-in-nova", tenant_id="5" * 32, user_id="6" * 32,
                 host=HOST, instance_name="instance-0000000a", flavor_id="14",
                 flavor_name="m9.nova"),
]


@pytest.fixture(autouse=True)
def _quiet_sdk_warnings() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


@pytest.fixture
def sim_factory() -> Iterator:
    started: list[KeystoneNovaSimulator] = []

    def factory(max_version: str = "2.100", **kwargs: object) -> KeystoneNovaSimulator:
        sim = KeystoneNovaSimulator(max_version=max_version, password=PASSWORD,
                                    **kwargs).start()
        started.append(sim)
        return sim

    yield factory
    for sim in started:
        sim.stop()


def credentials(tmp_path: pathlib.Path, sim: KeystoneNovaSimulator, **nova: object) -> str:
    path = tmp_path / "credentials.conf"
    lines = ["[service_credentials]", "auth_type = password",
             f"auth_url = {sim.auth_url}", f"username = {sim.username}",
             f"password = {PASSWORD}", "project_name = service",
             "user_domain_name = Default", "project_domain_name = Default",
             "[nova]", f"host = {HOST}", "timeout = 1"]
    lines += [f"{k} = {v}" for k, v in nova.items()]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def sync_stack(uri: str, conf_file: str) -> tuple[Sampler, NovaFallback, Resolver]:
    """A sampler whose fallback refreshes only when the test says so."""
    conf = make_conf(uri, [conf_file])
    errors = ErrorCounts()
    source = nova_cmd.source(conf, "unused-hostname")
    fallback = NovaFallback(source, errors, cache_ttl=conf.nova.cache_ttl,
                            negative_ttl=conf.nova.negative_cache_ttl,
                            refresh_min_interval=0, backoff=Backoff(1.0, 2.0),
                            background=False)
    resolver = Resolver(errors, fallback=fallback)
    sampler = Sampler(Connection(uri), StatsReader(), resolver, errors)
    return sampler, fallback, resolver


@pytest.mark.parametrize("max_version", ["2.1", "2.100"])
def test_domains_without_metadata_get_tenancy_from_nova(tmp_path, sim_factory,
                                                        max_version) -> None:
    sim = sim_factory(max_version)
    for record in SERVERS:
        sim.add_server(record)
    for record in make_servers(5, "other-host"):
        sim.add_server(record)
    sampler, fallback, _ = sync_stack(fixtures.test_node_uri(), credentials(tmp_path, sim))
    before = sampler.collect()
    assert before.tenancy_of(UBUNTU).source == model.SOURCE_NONE
    assert fallback.refresh()
    snap = sampler.collect()

    ubuntu = snap.tenancy_of(UBUNTU)
    assert (ubuntu.instance_uuid, ubuntu.project_id, ubuntu.user_id, ubuntu.flavor) == \
        (UBUNTU, "1" * 32, "2" * 32, "m2.ubuntu")
    assert ubuntu.flavor_vcpus == 2 and ubuntu.source == model.SOURCE_NOVA_API
    # Partial metadata is completed; metadata values are never overwritten.
    partial = snap.tenancy_of(PARTIAL)
    assert partial.project_id == META_PROJECT and partial.flavor == "m1.batch"
    assert partial.source == model.SOURCE_MERGED
    trunc = snap.tenancy_of(TRUNC)
    assert (trunc.project_id, trunc.user_id) == ("3" * 32, "4" * 32)
    assert (trunc.user_name, trunc.flavor) == ("alice", "m1.tiny")
    # Complete metadata is not even looked up, and Nova's values never win.
    assert snap.tenancy_of(FULL).flavor == "m1.small"
    assert snap.tenancy_of(FULL).source == model.SOURCE_METADATA
    assert snap.tenancy_of(WIN).source == model.SOURCE_NONE
    # Per host, never per VM: the host filter and all_tenants went over the wire.
    listed = sim.requests_to("servers")
    assert listed and all(r.query.get("host") == HOST for r in listed)
    assert all(r.query.get("all_tenants") in ("True", "true", "1") for r in listed)
    assert not any(r.path.rstrip("/").endswith(UBUNTU) for r in sim.requests)


def test_names_from_keystone_when_asked(tmp_path, sim_factory) -> None:
    sim = sim_factory()
    for record in SERVERS:
        sim.add_server(record)
    sim.add_project("1" * 32, "ubuntu-team")
    sim.add_user("2" * 32, "ursula")
    sim.add_project(META_PROJECT, "data-science")
    sampler, fallback, _ = sync_stack(
        fixtures.test_node_uri(), credentials(tmp_path, sim, resolve_names="true"))
    sampler.collect()
    fallback.refresh()
    snap = sampler.collect()
    assert snap.tenancy_of(UBUNTU).project_name == "ubuntu-team"
    assert snap.tenancy_of(UBUNTU).user_name == "ursula"
    # Nova's project for PARTIAL differs from the metadata's: its name is not taken.
    assert snap.tenancy_of(PARTIAL).project_name is None


def test_request_budget_1000_domains_900_without_metadata(tmp_path, sim_factory) -> None:
    node = tmp_path / "node.xml"
    uuids = nodegen.write_node(node, 1000, without_metadata=900)
    sim = sim_factory(max_limit=1000)
    for n, uuid in enumerate(uuids[100:]):
        sim.add_server(ServerRecord(id=uuid, name=f"vm-{n}", tenant_id="%032x" % n,
                                    user_id="%032x" % (n + 5000), host=HOST,
                                    instance_name="instance-%08x" % (n + 101)))
    for record in make_servers(100, "other-host", start=5000):
        sim.add_server(record)
    sampler, fallback, _ = sync_stack(fixtures.test_node_uri(node), credentials(tmp_path, sim))
    sampler.collect()
    sim.reset_counts()
    assert fallback.refresh()
    first = len(sim.requests)
    snap = sampler.collect()
    resolved = sum(1 for u in uuids if snap.tenancy_of(u).project_id)
    assert resolved == 1000
    # auth + discovery + a page or two of servers + flavors: a constant, not per VM.
    assert first <= 8, [r.path for r in sim.requests]
    sim.reset_counts()
    for _ in range(3):
        sampler.collect()
    assert fallback.due_in() is None  # nothing left to look up
    assert len(sim.requests) == 0
    print("nova requests for 900 unresolved domains: first refresh %d, then 0" % first)


def _service_with_nova(service_factory, tmp_path, sim, **nova: object):
    conf_file = credentials(tmp_path, sim, refresh_min_interval=0, backoff_max=1, **nova)
    return service_factory(fixtures.test_node_uri(), [conf_file])


def _wait_for(predicate, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met within %.0f s" % timeout)


def _series(svc) -> tuple[dict[str, dict], float | None]:
    samples = parse(scrape_text(svc))
    states = {s.labels["uuid"]: s.labels for s in samples["libvirt_domain_info_state"]}
    up = samples.get("enricher_nova_api_up")
    return states, (up[0].value if up else None)


FAULTS = {
    "slow": {"delay": 3.0},
    "http401": {"status": 401},
    "http403": {"status": 403},
    "http404": {"status": 404},
    "http500": {"status": 500},
    "garbage": {"malformed": True},
    "dropped": {"drop": True},
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_faults_keep_metrics_flowing_and_recover(tmp_path, sim_factory, service_factory,
                                                 fault, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    sim = sim_factory()
    for record in SERVERS:
        sim.add_server(record)
    sim.add_fault("servers", **FAULTS[fault])
    svc = _service_with_nova(service_factory, tmp_path, sim)
    states, up = _series(svc)
    assert states[FULL]["project_name"] == "webteam"  # metadata, at once
    _wait_for(lambda: _series(svc)[1] == 0)
    states, _ = _series(svc)
    assert states[UBUNTU]["project_id"] == ""
    assert states[FULL]["project_id"] == "b1e262d6fb718f9f4433d0646eb664fb"
    sim.clear_faults()
    _wait_for(lambda: _series(svc)[0][UBUNTU]["project_id"] == "1" * 32)
    assert _series(svc)[1] == 1
    text = scrape_text(svc)
    assert PASSWORD not in text and PASSWORD not in caplog.text
    down = [r for r in caplog.records if "Nova API unavailable" in r.getMessage()]
    assert len(down) == 1  # one line per state change, not per attempt


def test_nova_down_entirely_then_back(tmp_path, sim_factory, service_factory) -> None:
    sim = sim_factory()
    for record in SERVERS:
        sim.add_server(record)
    svc = _service_with_nova(service_factory, tmp_path, sim)
    sim.stop()
    svc.nova.forget(UBUNTU)
    _wait_for(lambda: _series(svc)[1] == 0)
    assert _series(svc)[0][FULL]["project_name"] == "webteam"
    sim.start()
    _wait_for(lambda: _series(svc)[1] == 1)
    assert _series(svc)[0][UBUNTU]["flavor"] == "m2.ubuntu"


def test_password_never_in_errors_logs_or_metrics(tmp_path, sim_factory, service_factory,
                                                  caplog) -> None:
    caplog.set_level(logging.DEBUG)
    sim = sim_factory()
    sim.password = "what-keystone-wants"  # Keystone rejects PASSWORD: 401
    svc = _service_with_nova(service_factory, tmp_path, sim)
    _wait_for(lambda: _series(svc)[1] == 0)
    errors = parse(scrape_text(svc))["enricher_errors_total"]
    assert any(s.labels["source"] == "nova" for s in errors)
    assert any("Nova API unavailable" in r.getMessage() for r in caplog.records)
    for record in caplog.records:
        assert PASSWORD not in record.getMessage()
        assert PASSWORD not in str(record.exc_info or "")
    assert PASSWORD not in scrape_text(svc)


def test_no_credentials_means_fallback_off_said_once(caplog) -> None:
    caplog.set_level(logging.INFO)
    conf = make_conf(fixtures.test_node_uri())
    assert nova_fallback(conf, ErrorCounts()) is None
    assert sum("fallback is off" in r.getMessage() for r in caplog.records) == 1
