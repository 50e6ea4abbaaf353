"""Naming profiles over recorded real guests: names, types and labels as the other exporters'.

The inovex and vAdvisor families are facts held as data in
tests/fixtures/profiles/ (inovex's README metric table, vAdvisor's
collector); the exposition of each profile must list exactly those
families with exactly those label names (plus our tenant labels). The
snapshot is the recorded bulk stats of the two e2e QEMU guests
(tests/fixtures/golden/e2e-guests-stats.json) with their recorded domain
XML as descriptions, as production builds it.
"""

from __future__ import annotations

import dataclasses
import json
from types import MappingProxyType

import pytest
from prometheus_client.parser import text_string_to_metric_families

from enricher.exporters import catalog, profiles
from enricher.exporters.exposition import MetricsApp
from enricher.exporters.profiles.engine import ProfileRenderer
from enricher.exporters.profiles.model import Mapped, Profile
from enricher.health import ErrorCounts
from enricher.libvirt.stats import sample_from_record
from enricher.sampler import Snapshot
from enricher.tenancy import model
from enricher.tenancy.domain_reader import record_from_xml
from tests import fixtures
from tests.fakes import Domain

PROFILE_FIXTURES = fixtures.FIXTURES / "profiles"
# The guest balloon driver's figures (KiB), which the recorded tiny guests lack.
BALLOON = {"balloon.available": 60000, "balloon.usable": 45000, "balloon.unused": 40000,
           "balloon.swap_in": 0, "balloon.swap_out": 0, "balloon.major_fault": 3,
           "balloon.minor_fault": 700, "balloon.disk_caches": 1000}


def _facts(name: str) -> dict:
    return json.loads((PROFILE_FIXTURES / ("%s.json" % name)).read_text())


def snapshot() -> Snapshot:
    records = json.loads((fixtures.GOLDEN / "e2e-guests-stats.json").read_text())
    samples, tenancy, descriptions = [], {}, {}
    for r in records:
        stats = {**r["stats"], **BALLOON}
        samples.append(sample_from_record(Domain(r["name"], r["uuid"], r["id"]), stats))
        read = record_from_xml(r["xml"], r["uuid"])
        tenancy[r["uuid"]], descriptions[r["uuid"]] = read.tenancy, read.description
    return Snapshot(samples=tuple(samples), tenancy=MappingProxyType(tenancy),
                    descriptions=MappingProxyType(descriptions), libvirt_up=True,
                    collected_at=1.0, duration=0.1)


def render(profile: str, tenant_labels=(), device_info: bool = False,
           snap: Snapshot | None = None) -> str:
    app = MetricsApp(None, ErrorCounts(), tenant_labels, profile=profile,
                     device_info=device_info)
    return app.prepare(snap or snapshot()).plain.decode("utf-8")


def families(text: str) -> dict[str, tuple[str, set[str], list]]:
    """Exported name -> (type, label names, samples)."""
    out = {}
    for family in text_string_to_metric_families(text):
        name = family.name + ("_total" if family.type == "counter" else "")
        out[name] = (family.type, {k for s in family.samples for k in s.labels},
                     family.samples)
    return out


def _expected_inovex() -> dict[str, tuple[str, set[str]]]:
    facts = _facts("inovex")
    absent = set(facts["not_provided"]) | set(facts["only_while_a_job_runs"])
    stale = set(facts["stale_labels"])
    return {name: (f["type"], set(f["labels"]) - stale
                   | set(facts["added_labels"].get(name, ())))
            for name, f in facts["families"].items() if name not in absent}


def test_inovex_families_and_labels_are_its_readme_table() -> None:
    got = families(render("inovex"))
    assert {n: (t, labels) for n, (t, labels, _) in got.items()} == _expected_inovex()


def test_inovex_keeps_our_tenant_labels_after_domain() -> None:
    tenant = model.DEFAULT_TENANT_LABELS
    got = families(render("inovex", tenant))
    for name, (type_, labels) in _expected_inovex().items():
        per_vm = "domain" in labels and name != "libvirt_domain_openstack_info"
        assert got[name][:2] == (type_, labels | set(tenant) if per_vm else labels), name
    (sample,) = [s for s in got["libvirt_domain_info_cpu_time_seconds_total"][2]
                 if s.labels["domain"] == "enr-e2e-b3af3e-a"]
    assert sample.labels["project_name"] and sample.labels["instance_uuid"]


def test_vadvisor_families_and_labels_are_its_collectors() -> None:
    facts = _facts("vadvisor")["families"]
    got = families(render("vadvisor"))
    assert {n: (t, labels) for n, (t, labels, _) in got.items()} == {
        n: (f["type"], set(f["labels"])) for n, f in facts.items()}


def _value(text: str, name: str, **labels: str) -> float:
    (sample,) = [s for s in families(text)[name][2]
                 if all(s.labels.get(k) == v for k, v in labels.items())]
    return sample.value


def test_values_are_the_seed_values_in_the_profiles_units() -> None:
    seed, inovex, vadvisor = render("seed"), render("inovex"), render("vadvisor")
    a = {"uuid": "8336883d-fc5d-4f4d-bf5c-7d22c43d3e32"}
    seconds = _value(seed, "libvirt_domain_cpu_time_seconds_total", **a)
    assert seconds == pytest.approx(5.868189)
    assert _value(inovex, "libvirt_domain_info_cpu_time_seconds_total",
                  domain="enr-e2e-b3af3e-a") == seconds
    assert _value(vadvisor, "vm_cpu_milliseconds_total", **a) == pytest.approx(5868.189)
    assert _value(vadvisor, "vm_vcpu_milliseconds_total", cpu="0", **a) == pytest.approx(
        1000 * _value(seed, "libvirt_domain_vcpu_time_seconds_total", vcpu="0", **a))
    assert _value(inovex, "libvirt_domain_block_stats_read_bytes_total",
                  domain="enr-e2e-b3af3e-a", target_device="vda") == 512
    assert _value(inovex, "libvirt_domain_memory_stats_used_percent",
                  domain="enr-e2e-b3af3e-a") == pytest.approx(25.0)
    assert _value(inovex, "libvirt_domain_info_state", domain="enr-e2e-b3af3e-a",
                  state_desc="the domain is running") == 1
    assert _value(inovex, "libvirt_domains") == 2 and _value(vadvisor, "vm_up", **a) == 1


def test_inovex_device_info_comes_from_the_domain_xml() -> None:
    text = render("inovex")
    (disk,) = [s.labels for s in families(text)["libvirt_domain_block_stats_info"][2]
               if s.labels["domain"] == "enr-e2e-b3af3e-a"]
    assert disk == {"domain": "enr-e2e-b3af3e-a", "disk_type": "file", "driver_cache": "",
                    "driver_discard": "", "driver_name": "qemu", "driver_type": "raw",
                    "serial": "", "source_file": "/tmp/enr-e2e-b3af3e-9w6fo5vt/a.raw",
                    "target_bus": "virtio", "target_device": "vda"}
    (nic,) = [s.labels for s in families(text)["libvirt_domain_interface_stats_info"][2]
              if s.labels["domain"] == "enr-e2e-b3af3e-a"]
    assert (nic["target_device"], nic["mac_address"], nic["interface_type"]) == (
        "enrb3af3ea", "52:54:00:20:47:ef", "ethernet")


def test_seed_is_untouched_and_device_info_only_appends_its_two_families() -> None:
    plain = render("seed", model.DEFAULT_TENANT_LABELS)
    app = MetricsApp(None, ErrorCounts(), model.DEFAULT_TENANT_LABELS)
    assert app.prepare(snapshot()).plain.decode() == plain  # the default is seed
    with_info = render("seed", model.DEFAULT_TENANT_LABELS, device_info=True)
    assert with_info.startswith(plain)
    added = families(with_info[len(plain):])
    assert {n: labels for n, (_, labels, _) in added.items()} == {
        n: set(catalog.get(n).label_names(model.DEFAULT_TENANT_LABELS))
        for n in ("libvirt_domain_block_info", "libvirt_domain_interface_info")}


def test_every_profile_entry_names_a_catalog_family_and_a_known_derivation() -> None:
    for profile in profiles.PROFILES.values():
        ProfileRenderer(profile, ())  # plans every Mapped entry: KeyError, ValueError
    bad = Profile("bad", "", (Mapped("libvirt_domain_cpu_time_seconds_total", "cpu"),))
    with pytest.raises(ValueError, match="_total"):
        ProfileRenderer(bad, ())
    with pytest.raises(KeyError):
        ProfileRenderer(dataclasses.replace(bad, families=(Mapped("nope", "x"),)), ())
