"""The Nova API fallback against the Keystone+Nova simulator, over real HTTP."""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import pathlib
import time
from collections.abc import Callable, Iterator

import pytest
import requests
from oslo_config import cfg

from enricher.cmd import nova as nova_cmd
from enricher.conf import nova as nova_conf
from enricher.exceptions import EnricherError, NovaLookupFailed
from enricher.tenancy import model, nova_api
from enricher.tenancy.nova_server import HOST_ATTR
from tests.simulators.keystone_nova import KeystoneNovaSimulator, ServerRecord, make_servers

# openstacksdk 4.22 warns about its own internal call on every proxy request.
pytestmark = pytest.mark.filterwarnings("ignore::openstack.warnings.RemovedInSDK50Warning")

HOST = "node-1"
OTHER_HOST = "node-2"
FAULT_BOUND = 5.0  # seconds within which any fault must surface

RECORDS = [
    ServerRecord(id="6e6b8e3a-8d0c-4f1e-9b7a-0d1c2e3f4a5b", name="web-1",
                 tenant_id="9f3c2a1b4d5e6f708192a3b4c5d6e7f8",
                 user_id="1a2b3c4d5e6f708192a3b4c5d6e7f809", host=HOST,
                 instance_name="instance-0000000a", flavor_id="42",
                 flavor_name="m1.large", vcpus=4, ram=8192, disk=80),
    ServerRecord(id="0b1c2d3e-4f50-4617-a8b9-cadbecfd0e1f", name="db-1",
                 tenant_id="0c4e939acacf4376bdcd1129f1a054ad",
                 user_id="9fe1d3aaaaaa4bbbbccccddddeeeefff", host=HOST,
                 instance_name="instance-0000000b", flavor_id="7",
                 flavor_name="m1.small", vcpus=1, ram=2048, disk=20,
                 node="node-1.example.com"),
    ServerRecord(id="f5dc173b-6804-445a-a6d8-c705dad5b5eb", name="elsewhere",
                 tenant_id="9f3c2a1b4d5e6f708192a3b4c5d6e7f8",
                 user_id="1a2b3c4d5e6f708192a3b4c5d6e7f809", host=OTHER_HOST,
                 instance_name="instance-0000000c", flavor_id="42",
                 flavor_name="m1.large", vcpus=4, ram=8192, disk=80),
]
PROJECTS = {"9f3c2a1b4d5e6f708192a3b4c5d6e7f8": "acme",
            "0c4e939acacf4376bdcd1129f1a054ad": "admin"}
USERS = {"1a2b3c4d5e6f708192a3b4c5d6e7f809": "alice",
         "9fe1d3aaaaaa4bbbbccccddddeeeefff": "jsmith"}


# -- helpers ---------------------------------------------------------------------
def write_credentials(path: pathlib.Path, sim: KeystoneNovaSimulator, **extra: str) -> None:
    lines = ["[service_credentials]", "auth_type = password",
             f"auth_url = {sim.auth_url}", f"username = {sim.username}",
             f"password = {sim.password}", "project_name = service",
             "user_domain_name = Default", "project_domain_name = Default",
             "region_name = RegionOne"]
    lines += [f"{key} = {value}" for key, value in extra.items()]
    path.write_text("\n".join(lines) + "\n")


def make_conf(ini: pathlib.Path | None, **nova: object) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    nova_conf.register_opts(conf)
    conf([], project="enricher", default_config_files=[str(ini)] if ini else [],
         default_config_dirs=[])
    for name, value in nova.items():
        conf.set_override(name, value, group="nova")
    return conf


def make_source(conf: cfg.ConfigOpts, hostname: str = HOST,
                page_size: int = nova_api.PAGE_SIZE) -> nova_api.NovaTenancySource:
    """The client as enricher.cmd.nova builds it, with another page size if asked."""
    credentials = nova_cmd.credentials(conf)
    assert credentials is not None
    settings = dataclasses.replace(nova_cmd.settings(conf, hostname), page_size=page_size)
    return nova_api.NovaTenancySource(settings, credentials)


def requests_counted(source: nova_api.NovaTenancySource, endpoint: str | None = None,
                     status: str | None = None) -> int:
    """Requests in the counters enricher_nova_requests_total is exported from."""
    return sum(n for (ep, st), n in source.counters.requests().items()
               if endpoint in (None, ep) and status in (None, st))


def register(sim: KeystoneNovaSimulator, records: list[ServerRecord] = RECORDS) -> None:
    for record in records:
        sim.add_server(record)
    for ident, name in PROJECTS.items():
        sim.add_project(ident, name)
    for ident, name in USERS.items():
        sim.add_user(ident, name)


@pytest.fixture
def sim_factory() -> Iterator[Callable[..., KeystoneNovaSimulator]]:
    started: list[KeystoneNovaSimulator] = []

    def factory(**kwargs: object) -> KeystoneNovaSimulator:
        sim = KeystoneNovaSimulator(**kwargs).start()
        started.append(sim)
        return sim

    yield factory
    for sim in started:
        sim.stop()


@pytest.fixture
def sim(sim_factory: Callable[..., KeystoneNovaSimulator]) -> KeystoneNovaSimulator:
    sim = sim_factory(max_version="2.100")
    register(sim)
    return sim


@pytest.fixture
def source_factory(tmp_path: pathlib.Path) -> Callable[..., nova_api.NovaTenancySource]:
    def factory(sim: KeystoneNovaSimulator, page_size: int = nova_api.PAGE_SIZE,
                **nova: object) -> nova_api.NovaTenancySource:
        ini = tmp_path / "enricher.conf"
        write_credentials(ini, sim)
        return make_source(make_conf(ini, **nova), page_size=page_size)
    return factory


def expected(record: ServerRecord, embedded_flavor: bool, names: bool = True
             ) -> model.Tenancy:
    return model.Tenancy(
        instance_uuid=record.id, instance_name=record.name,
        project_id=record.tenant_id,
        project_name=PROJECTS[record.tenant_id] if names else None,
        user_id=record.user_id, user_name=USERS[record.user_id] if names else None,
        flavor=record.flavor_name, flavor_id=None if embedded_flavor else record.flavor_id,
        flavor_vcpus=record.vcpus, flavor_ram_mb=record.ram, flavor_disk_gb=record.disk,
        image_id=record.image_id, root_type="image", root_id=record.image_id,
        source=model.SOURCE_NOVA_API)


# -- (a) tenancy for both flavor shapes -----------------------------------------------
@pytest.mark.parametrize("max_version, embedded", [("2.1", False), ("2.46", False),
                                                  ("2.47", True), ("2.100", True)])
def test_servers_on_host_map_to_tenancy(sim_factory, source_factory, max_version, embedded):
    sim = sim_factory(max_version=max_version)
    register(sim)
    source = source_factory(sim, resolve_names=True)

    result = source.lookup_host()

    mine = [r for r in RECORDS if r.host == HOST]
    assert set(result) == {r.id for r in mine} | {r.instance_name for r in mine}
    for record in mine:
        assert result[record.id] == expected(record, embedded)
        assert result[record.instance_name] is result[record.id]
    assert all(r.headers.get("OpenStack-API-Version") == f"compute {max_version}"
               for r in sim.requests_to("servers"))
    assert sim.count("flavors") == (0 if embedded else 1)
    assert sim.count("flavor") == 0


def test_negotiation_caps_at_api_version(sim, source_factory):
    source = source_factory(sim, api_version="2.60")
    source.lookup_host()
    assert {r.headers.get("X-OpenStack-Nova-API-Version")
            for r in sim.requests_to("servers")} == {"2.60"}


def test_second_lookup_uses_flavor_and_name_caches(sim_factory, source_factory):
    sim = sim_factory(max_version="2.1")
    register(sim)
    source = source_factory(sim, resolve_names=True)
    first = source.lookup_host()
    sim.reset_counts()

    assert source.lookup_host() == first
    assert sim.count() == sim.count("servers") == 1


def test_names_unresolved_by_default(sim, source_factory):
    result = source_factory(sim).lookup_host()
    record = RECORDS[0]
    assert result[record.id] == expected(record, True, names=False)
    assert sim.count("projects") == sim.count("users") == 0


def test_deleted_flavor_leaves_flavor_unknown(sim_factory, source_factory):
    sim = sim_factory(max_version="2.1")
    register(sim)
    sim.delete_flavor("7")
    source = source_factory(sim)
    result = source.lookup_host()

    assert result[RECORDS[0].id].flavor == "m1.large"
    small = result[RECORDS[1].id]
    assert (small.flavor, small.flavor_vcpus, small.project_id) == (None, None,
                                                                    RECORDS[1].tenant_id)
    assert sim.count("flavor", 404) == 1
    sim.reset_counts()
    source.lookup_host()  # the negative cache holds for negative_cache_ttl
    assert sim.count("flavor") == sim.count("flavors") == 0


def test_unknown_keystone_ids_are_negative_cached(sim_factory, source_factory):
    sim = sim_factory(max_version="2.100")
    for record in RECORDS:
        sim.add_server(record)  # no projects or users registered in Keystone
    source = source_factory(sim, resolve_names=True)
    first = source.lookup_host()
    assert first[RECORDS[0].id].project_name is None
    assert first[RECORDS[0].id].project_id == RECORDS[0].tenant_id
    sim.reset_counts()
    source.lookup_host()
    assert sim.count("projects") == sim.count("users") == 0


# -- (b) the filters go over the wire --------------------------------------------
def test_host_and_all_tenants_go_over_the_wire(sim, source_factory):
    result = source_factory(sim).lookup_host()

    [request] = sim.requests_to("servers")
    assert request.path == "/compute/v2.1/servers/detail"
    assert request.query["host"] == HOST
    assert request.query["all_tenants"] == "True"
    other = [r for r in RECORDS if r.host == OTHER_HOST]
    assert other and not {r.id for r in other} & set(result)
    assert not {r.instance_name for r in other} & set(result)


def test_ignored_host_filter_is_an_error(sim_factory, source_factory):
    sim = sim_factory(honour_host_filter=False)
    register(sim)
    with pytest.raises(NovaLookupFailed, match="host filter was ignored"):
        source_factory(sim).lookup_host()


def test_non_admin_credentials_fail_clearly(sim_factory, source_factory):
    sim = sim_factory(admin=False)
    register(sim)
    with pytest.raises(NovaLookupFailed, match="HTTP 403.*get_all_tenants"):
        source_factory(sim).lookup_host()


# -- (c) request budget --------------------------------------------------------------
@pytest.mark.parametrize("max_limit, page_size, pages", [
    (100, nova_api.PAGE_SIZE, 900 // 100 + 1),  # Nova's cap; a full last page: +1
    (1000, 250, math.ceil(900 / 250)),
])
def test_request_budget_is_per_host_not_per_vm(sim_factory, source_factory,
                                               max_limit, page_size, pages):
    sim = sim_factory(max_version="2.100", max_limit=max_limit)
    for record in make_servers(900, HOST):
        sim.add_server(record)
    for record in make_servers(100, OTHER_HOST, start=5000):
        sim.add_server(record)
    source = source_factory(sim, page_size=page_size)

    result = source.lookup_host()

    assert len({t.instance_uuid for t in result.values()}) == 900
    assert sim.count("servers") == pages
    # auth, identity discovery (auth plugin), compute discovery: once each
    assert sim.count() == pages + 3
    assert requests_counted(source, "servers", "200") == pages
    assert requests_counted(source) == sim.count()
    sim.reset_counts()
    source.lookup_host()
    assert sim.count() == sim.count("servers") == pages


def test_request_budget_with_flavor_ids_and_names(sim_factory, source_factory):
    sim = sim_factory(max_version="2.1", max_limit=100)
    records = list(make_servers(900, HOST, projects=3, flavors=2))
    for record in records + list(make_servers(100, OTHER_HOST, start=5000)):
        sim.add_server(record)
    for record in records:
        sim.add_project(record.tenant_id, "p-" + record.tenant_id[-4:])
        sim.add_user(record.user_id, "u-" + record.user_id[-4:])
    source = source_factory(sim, resolve_names=True)

    result = source.lookup_host()

    assert result[records[0].id].project_name == "p-" + records[0].tenant_id[-4:]
    assert sim.count("servers") == 10
    assert sim.count("flavors") == 1 and sim.count("flavor") == 0
    assert sim.count("projects") == 3 and sim.count("users") == 3
    assert sim.count() == 10 + 1 + 6 + 3


# -- (d) faults ------------------------------------------------------------------------
FAULTS = {
    "latency beyond timeout": ("servers", {"delay": 2.0}),
    "hang": ("servers", {"hang": True}),
    "401 from nova": ("servers", {"status": 401}),
    "401 from keystone": ("auth", {"status": 401}),
    "403": ("servers", {"status": 403}),
    "404": ("servers", {"status": 404}),
    "500": ("servers", {"status": 500}),
    "500 from keystone": ("auth", {"status": 500}),
    "malformed json": ("servers", {"malformed": True}),
    "connection drop": ("servers", {"drop": True}),
    "flavor list 500": ("flavors", {"status": 500}),
}


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_fault_raises_then_recovers(sim_factory, source_factory, caplog, name):
    caplog.set_level(logging.DEBUG)
    endpoint, fault = FAULTS[name]
    sim = sim_factory(max_version="2.1")
    register(sim)
    source = source_factory(sim, timeout=0.5)
    sim.add_fault(endpoint, **fault)

    start = time.monotonic()
    with pytest.raises(NovaLookupFailed) as info:
        source.lookup_host()
    assert time.monotonic() - start < FAULT_BOUND
    assert isinstance(info.value, EnricherError)
    assert "Nova look-up of servers on host 'node-1' failed" in str(info.value)
    assert sim.password not in str(info.value)
    assert sim.password not in caplog.text
    assert source.counters.lookups() == {"error": 1}

    sim.clear_faults()
    assert len(source.lookup_host()) == 4
    assert source.counters.lookups() == {"error": 1, "ok": 1}
    assert sim.password not in caplog.text


@pytest.mark.parametrize("body", [
    [], {"flavors": []}, {"servers": {}}, {"servers": ["x"]}, {"servers": [{"name": "no id"}]},
    {"servers": [{"id": 7}]},
    {"servers": [], "servers_links": "next"},
    {"servers": [], "servers_links": [{"rel": "next", "href": "http://x/servers/detail"}]},
])
def test_unexpected_shapes_raise(sim, source_factory, body):
    source = source_factory(sim)
    sim.add_fault("servers", body=body)
    with pytest.raises(NovaLookupFailed):
        source.lookup_host()


def test_odd_fields_are_tolerated(sim, source_factory):
    odd = {"id": "6E6B8E3A-8D0C-4F1E-9B7A-0D1C2E3F4A5B", "flavor": "m1.tiny", "image": None,
           "tenant_id": 42, "name": ["x"], HOST_ATTR: HOST}
    sim.add_fault("servers", body={"servers": [odd]})
    [tenancy] = set(source_factory(sim).lookup_host().values())
    assert tenancy == model.Tenancy(instance_uuid=RECORDS[0].id, source=model.SOURCE_NOVA_API)


def test_paging_loop_is_detected(sim, source_factory):
    link = [{"rel": "next", "href": f"{sim.compute_url}/servers/detail?marker=m1"}]
    sim.add_fault("servers", body={"servers": [], "servers_links": link})
    with pytest.raises(NovaLookupFailed, match="paging loops"):
        source_factory(sim).lookup_host()


def test_connection_refused_then_recovers(sim, source_factory, caplog):
    caplog.set_level(logging.DEBUG)
    source = source_factory(sim, timeout=0.5)
    assert len(source.lookup_host()) == 4
    sim.stop()

    start = time.monotonic()
    with pytest.raises(NovaLookupFailed, match="(?i)connect") as info:
        source.lookup_host()
    assert time.monotonic() - start < FAULT_BOUND
    assert sim.password not in str(info.value) + caplog.text
    assert requests_counted(source, status="connection_error") >= 1

    sim.start()
    assert len(source.lookup_host()) == 4


def test_wrong_password_is_reported_without_it(sim, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    ini = tmp_path / "enricher.conf"
    write_credentials(ini, sim)
    wrong = "Wr0ng-" + sim.password
    ini.write_text(ini.read_text().replace(f"password = {sim.password}",
                                           f"password = {wrong}"))
    source = make_source(make_conf(ini))
    with pytest.raises(NovaLookupFailed, match="Unauthorized") as info:
        source.lookup_host()
    assert wrong not in str(info.value) + caplog.text
    assert requests_counted(source, "auth", "401") == 1


def test_revoked_token_is_renewed(sim, source_factory):
    source = source_factory(sim)
    source.lookup_host()
    sim.revoke_tokens()
    sim.reset_counts()
    assert len(source.lookup_host()) == 4
    assert sim.count("servers", 401) == 1 and sim.count("auth", 201) == 1


def test_unreadable_version_document_falls_back_to_2_1(sim, source_factory):
    sim.add_fault("compute-discovery", malformed=True, times=1)
    source = source_factory(sim)
    result = source.lookup_host()
    assert result[RECORDS[0].id] == expected(RECORDS[0], False, names=False)
    [request] = sim.requests_to("servers")
    assert "OpenStack-API-Version" not in request.headers
    sim.reset_counts()
    source.lookup_host()  # discovery is asked again, and now answers
    assert {r.headers.get("OpenStack-API-Version") for r in sim.requests_to("servers")} \
        == {"compute 2.100"}


def test_latency_within_timeout_is_fine(sim, source_factory):
    source = source_factory(sim, timeout=2.0)
    sim.add_fault("servers", delay=0.2)
    assert len(source.lookup_host()) == 4
    assert source.counters.lookups() == {"ok": 1}
    assert source.counters.lookup_seconds_sum >= 0.2


# -- (e) configuration -----------------------------------------------------------------
def test_no_credentials_means_no_client(caplog):
    caplog.set_level(logging.INFO, logger=nova_cmd.__name__)
    assert nova_cmd.source(make_conf(None), HOST) is None
    assert len(caplog.records) == 1
    assert "fallback is off" in caplog.records[0].getMessage()


def test_auth_type_without_auth_url_means_no_client(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger=nova_cmd.__name__)
    ini = tmp_path / "enricher.conf"
    ini.write_text("[service_credentials]\nauth_type = password\nusername = x\n")
    assert nova_cmd.source(make_conf(ini), HOST) is None
    assert len(caplog.records) == 1 and "auth_url" in caplog.text


def test_incomplete_credentials_fail_at_start(tmp_path):
    ini = tmp_path / "enricher.conf"
    ini.write_text("[service_credentials]\nauth_type = v3applicationcredential\n"
                   "auth_url = http://127.0.0.1:9/v3\n")
    with pytest.raises(cfg.Error, match="service_credentials"):
        nova_cmd.source(make_conf(ini), HOST)


def test_nova_host_option_overrides_libvirt_hostname(sim, tmp_path):
    ini = tmp_path / "enricher.conf"
    write_credentials(ini, sim)
    source = nova_cmd.source(make_conf(ini, host=OTHER_HOST), "libvirt-name")
    assert source.settings.host == OTHER_HOST
    assert set(source.lookup_host()) == {RECORDS[2].id, RECORDS[2].instance_name}


def test_clouds_yaml_entry(sim, tmp_path, monkeypatch):
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(json.dumps({"clouds": {"sim": {
        "auth": {"auth_url": sim.auth_url, "username": sim.username,
                 "password": sim.password, "project_name": "service",
                 "user_domain_name": "Default", "project_domain_name": "Default"},
        "region_name": "RegionOne", "interface": "internal"}}}))
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))
    source = nova_cmd.source(make_conf(None, cloud="sim"), HOST)
    assert len(source.lookup_host()) == 4
    assert requests_counted(source, "servers", "200") == 1


def test_unknown_cloud_fails_at_start(tmp_path, monkeypatch):
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(tmp_path / "none.yaml"))
    with pytest.raises(cfg.Error, match="cloud 'nowhere'"):
        nova_cmd.source(make_conf(None, cloud="nowhere"), HOST)


def test_default_interfaces_fall_back_to_public(sim_factory, source_factory, tmp_path):
    sim = sim_factory(interfaces=("public",))
    register(sim)
    assert len(source_factory(sim).lookup_host()) == 4
    ini = tmp_path / "internal-only.conf"
    write_credentials(ini, sim, interface="internal")
    with pytest.raises(NovaLookupFailed):
        make_source(make_conf(ini)).lookup_host()


def test_unknown_region_fails_lookup(sim, tmp_path):
    ini = tmp_path / "enricher.conf"
    write_credentials(ini, sim)
    ini.write_text(ini.read_text().replace("RegionOne", "RegionTwo"))
    with pytest.raises(NovaLookupFailed):
        make_source(make_conf(ini)).lookup_host()


# -- the simulator itself ------------------------------------------------------------------
def _get(sim: KeystoneNovaSimulator, path: str, version: str | None = None,
         token: bool = True, **params: str) -> requests.Response:
    headers = {}
    if token:
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": sim.username, "password": sim.password, "domain": {"name": "Default"}}}}}}
        reply = requests.post(sim.auth_url + "/auth/tokens", json=body, timeout=5)
        headers["X-Auth-Token"] = reply.headers["X-Subject-Token"]
    if version:
        headers["OpenStack-API-Version"] = f"compute {version}"
    return requests.get(sim.compute_url + path, params=params, headers=headers, timeout=5)


def test_simulator_hypervisors_with_servers(sim):
    new = _get(sim, "/os-hypervisors", "2.53", hypervisor_hostname_pattern="node-1",
               with_servers="true")
    assert new.headers["OpenStack-API-Version"] == "compute 2.53"
    by_name = {h["hypervisor_hostname"]: h for h in new.json()["hypervisors"]}
    assert set(by_name) == {"node-1", "node-1.example.com"}
    assert by_name["node-1"]["servers"] == [{"name": "web-1", "uuid": RECORDS[0].id}]
    assert isinstance(by_name["node-1"]["id"], str)
    old = _get(sim, "/os-hypervisors/node-2/servers", "2.1").json()["hypervisors"]
    assert [(h["hypervisor_hostname"], h["servers"][0]["uuid"]) for h in old] == [
        ("node-2", RECORDS[2].id)]
    assert isinstance(old[0]["id"], int)


def test_simulator_versions_and_auth(sim):
    assert _get(sim, "/servers/detail", "2.101").status_code == 406
    assert _get(sim, "/servers/detail", token=False).status_code == 401
    assert _get(sim, f"/servers/{RECORDS[0].id}", "2.96").json()["server"][
        "pinned_availability_zone"] == "us-west"
    versions = requests.get(sim.base_url + "/compute/", timeout=5).json()["versions"]
    assert [(v["id"], v["version"]) for v in versions] == [("v2.0", ""), ("v2.1", "2.100")]
