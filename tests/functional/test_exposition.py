"""The /metrics exposition against the real libvirt test driver."""

from __future__ import annotations

import gzip
import subprocess
import urllib.request

from enricher.tenancy import model
from tests import fixtures, tools
from tests.functional.conftest import parse, scrape_text

EXPECTED = fixtures.expected()
IN_NODE = {e["domain_uuid"]: e for e in EXPECTED.values() if e.get("in_test_node")}
TENANT_LABELS = ("instance_uuid", "project_id", "project_name", "user_id",
                 "user_name", "flavor")


def _expected_labels(entry: dict) -> dict[str, str]:
    nova = entry.get("nova")
    if not nova:
        return dict.fromkeys(TENANT_LABELS, "")

    def name(value: str | None) -> str:
        return "" if value in (None, model.UNKNOWN_NAME) else value

    return {
        "instance_uuid": entry["domain_uuid"],
        "project_id": nova["project_id"] or "",
        "project_name": name(nova["project_name"]),
        "user_id": nova["user_id"] or "",
        "user_name": name(nova["user_name"]),
        "flavor": (nova["flavor"] or {}).get("name") or "",
    }


def test_every_domain_has_state_with_its_tenant_labels(service_factory) -> None:
    svc = service_factory(fixtures.test_node_uri())
    samples = parse(scrape_text(svc))
    states = {s.labels["uuid"]: s for s in samples["libvirt_domain_info_state"]}
    assert set(states) == set(IN_NODE)
    for uuid, entry in IN_NODE.items():
        sample = states[uuid]
        assert sample.labels["domain"] == entry["domain_name"]
        assert {k: sample.labels[k] for k in TENANT_LABELS} == _expected_labels(entry)
        assert sample.labels["state"] == entry["test_node_state"].replace(" ", "")
    assert samples["libvirt_up"][0].value == 1


def test_openstack_info_per_domain_with_source(service_factory) -> None:
    svc = service_factory(fixtures.test_node_uri())
    info = {s.labels["uuid"]: s.labels
            for s in parse(scrape_text(svc))["libvirt_domain_openstack_info"]}
    assert set(info) == set(IN_NODE)
    for uuid, entry in IN_NODE.items():
        if entry.get("nova"):
            assert info[uuid]["source"] == "metadata"
            assert info[uuid]["instance_name"] == entry["nova"]["display_name"]
        else:
            assert info[uuid]["source"] == "none"
            assert info[uuid]["instance_uuid"] == ""
            assert info[uuid]["project_id"] == ""
    a = info["e22c05ef-5d01-420e-8189-a451e4f10d3e"]
    assert a["fixed_ips"] == "10.0.0.12,fd00:10::f816:3eff:fe4b:2c17,192.168.50.7"
    assert a["image_id"] == "949a9b65-d770-4586-b1ae-487414c692ee"
    assert a["flavor_vcpus"] == "1"


def test_self_metrics(service_factory) -> None:
    svc = service_factory(fixtures.test_node_uri())
    samples = parse(scrape_text(svc))
    value = {n: s[0].value for n, s in samples.items() if len(s) == 1}
    assert value["enricher_domains"] == len(IN_NODE)
    no_project = sum(1 for e in IN_NODE.values()
                     if not (e.get("nova") or {}).get("project_id"))
    assert value["enricher_tenancy_unresolved_domains"] == no_project == 3
    assert value["enricher_collection_duration_seconds"] > 0
    assert value["enricher_scrape_duration_seconds"] > 0


def test_configured_tenant_labels_only(service_factory) -> None:
    svc = service_factory(fixtures.test_node_uri(),
                          prometheus__tenant_labels=["project_id", "instance_name"])
    sample = parse(scrape_text(svc))["libvirt_domain_info_state"][0]
    assert set(sample.labels) == {"domain", "uuid", "project_id", "instance_name",
                                  "state"}


def test_gzip_and_landing_page(service_factory) -> None:
    svc = service_factory(fixtures.test_node_uri())
    req = urllib.request.Request("http://127.0.0.1:%d/metrics" % svc.server.port,
                                 headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.headers["Content-Encoding"] == "gzip"
        text = gzip.decompress(resp.read()).decode()
    assert "libvirt_domain_info_state{" in text
    assert "/metrics" in scrape_text(svc, "/")


def test_libvirt_down_still_serves_with_up_zero(service_factory, tmp_path) -> None:
    uri = "qemu+unix:///system?socket=%s" % (tmp_path / "no-such.sock")
    svc = service_factory(uri)
    samples = parse(scrape_text(svc))
    assert samples["libvirt_up"][0].value == 0
    assert "libvirt_domain_info_state" not in samples
    assert parse(scrape_text(svc))["libvirt_up"][0].value == 0


def test_promtool_check_metrics_passes(service_factory) -> None:
    promtool = tools.find("promtool", "prometheus")
    svc = service_factory(fixtures.test_node_uri())
    text = scrape_text(svc)
    result = subprocess.run([promtool, "check", "metrics"], input=text,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "" and result.stderr.strip() == ""


def test_label_values_escaped_by_the_exposition(service_factory, node_file) -> None:
    text = node_file.read_text().replace(
        "<nova:name>web-01</nova:name>",
        '<nova:name>  we"b\\01\n ünï </nova:name>', 1)
    node_file.write_text(text)
    svc = service_factory(fixtures.test_node_uri(node_file))
    info = {s.labels["uuid"]: s.labels
            for s in parse(scrape_text(svc))["libvirt_domain_openstack_info"]}
    assert info["e22c05ef-5d01-420e-8189-a451e4f10d3e"]["instance_name"] == \
        '  we"b\\01\n ünï '
