"""Naming profiles through the real service on the libvirt test driver, over HTTP.

The test driver gives only the state stats group, so this covers what the
tenancy and the domain XML give (state, OpenStack info, device info,
counts); tests/unit/test_profiles.py covers every family over recorded
real stats. Both compare against the facts in tests/fixtures/profiles/.
"""

from __future__ import annotations

import json

from prometheus_client.parser import text_string_to_metric_families

from tests import fixtures
from tests.functional.conftest import scrape_text

RUNNING_A = "instance-0000000a"  # complete 1.1 metadata, two OVS ports with fixed IPs


def _families(text: str) -> dict[str, tuple[str, set[str], list]]:
    out = {}
    for family in text_string_to_metric_families(text):
        name = family.name + ("_total" if family.type == "counter" else "")
        out[name] = (family.type, {k for s in family.samples for k in s.labels},
                     family.samples)
    return out


def _facts(name: str) -> dict:
    return json.loads((fixtures.FIXTURES / "profiles" / ("%s.json" % name)).read_text())


def test_inovex_over_http_has_its_names_labels_and_the_port_ids(service_factory,
                                                                node_file) -> None:
    svc = service_factory(fixtures.test_node_uri(node_file),
                          prometheus__metric_names="inovex", prometheus__tenant_labels=[])
    got = _families(scrape_text(svc))
    facts = _facts("inovex")
    ours = {n for n in got if not n.startswith("enricher_")}
    assert ours <= set(facts["families"]), ours - set(facts["families"])
    assert {"libvirt_domain_info_state", "libvirt_domain_openstack_info",
            "libvirt_domain_block_stats_info", "libvirt_domain_interface_stats_info",
            "libvirt_domains", "libvirt_up", "libvirt_domain_info"} <= ours
    for name in ours:
        wanted = set(facts["families"][name]["labels"]) | set(
            facts["added_labels"].get(name, ()))
        assert got[name][:2] == (facts["families"][name]["type"], wanted), name
    nics = {s.labels["target_device"]: s.labels
            for s in got["libvirt_domain_interface_stats_info"][2]
            if s.labels["domain"] == RUNNING_A}
    assert nics["tap68ffd243-5a"]["port_id"] == "68ffd243-5a25-4423-89b1-62f0d5dc9bff"
    assert nics["tap68ffd243-5a"]["source_bridge"] == "br-int"
    assert "seed" not in scrape_text(svc) and "uuid=" not in scrape_text(svc).split(
        "# HELP enricher_")[0]


def test_vadvisor_over_http_has_vm_up_by_uuid(service_factory, node_file) -> None:
    svc = service_factory(fixtures.test_node_uri(node_file),
                          prometheus__metric_names="vadvisor")
    got = _families(scrape_text(svc))
    assert {n for n in got if not n.startswith("enricher_")} == {"vm_up"}
    assert "uuid" in got["vm_up"][1] and "domain" not in got["vm_up"][1]
    assert {s.value for s in got["vm_up"][2]} == {0.0, 1.0}  # running and shut-off guests


def test_seed_device_info_carries_the_port_ids(service_factory, node_file) -> None:
    svc = service_factory(fixtures.test_node_uri(node_file), prometheus__device_info=True)
    got = _families(scrape_text(svc))
    ports = {s.labels["interface"]: (s.labels["port_id"], s.labels["fixed_ips"])
             for s in got["libvirt_domain_interface_info"][2]
             if s.labels["domain"] == RUNNING_A}
    assert ports["tap68ffd243-5a"] == ("68ffd243-5a25-4423-89b1-62f0d5dc9bff",
                                       "10.0.0.12,fd00:10::f816:3eff:fe4b:2c17")
    assert "libvirt_domain_block_info" in got
