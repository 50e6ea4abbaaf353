"""Metadata is read once per domain and refreshed only when the domain changes."""

from __future__ import annotations

import logging

import libvirt

from enricher.health import ErrorCounts
from enricher.libvirt.connection import Connection
from enricher.libvirt.stats import StatsReader
from enricher.sampler import Sampler
from enricher.tenancy import domain_reader
from enricher.tenancy.resolver import Resolver
from tests import fixtures
from tests.functional.conftest import parse, scrape_text

BAD_VCPUS = "<nova:vcpus>1</nova:vcpus>"
A_UUID = "e22c05ef-5d01-420e-8189-a451e4f10d3e"
B_UUID = "e59c3d28-f810-47e9-bf7e-dc55e15c160e"


def _stack(uri: str, reader=domain_reader.read_domain):
    errors = ErrorCounts()
    conn = Connection(uri, read_only=False)
    resolver = Resolver(errors, reader=reader)
    sampler = Sampler(conn, StatsReader(), resolver, errors)
    return conn, resolver, sampler, errors


def test_second_collection_reads_no_metadata(node_file) -> None:
    _, resolver, sampler, _ = _stack(fixtures.test_node_uri(node_file))
    first = sampler.collect()
    reads = resolver.reads
    assert reads == len(first.samples) == 9
    sampler.collect()
    sampler.collect()
    assert resolver.reads == reads


def test_restarted_domain_alone_is_read_again(node_file) -> None:
    conn, resolver, sampler, _ = _stack(fixtures.test_node_uri(node_file))
    sampler.collect()
    reads = resolver.reads
    dom = conn.get().lookupByUUIDString(A_UUID)
    dom.destroy()
    sampler.collect()  # shut off: id changed to -1, read once
    assert resolver.reads == reads + 1
    dom.create()
    snap = sampler.collect()  # started again with a new id: read once more
    assert resolver.reads == reads + 2
    assert snap.tenancy_of(A_UUID).project_name == "webteam"


def test_invalidate_rereads_one_domain(node_file) -> None:
    conn, resolver, sampler, _ = _stack(fixtures.test_node_uri(node_file))
    sampler.collect()
    dom = conn.get().lookupByUUIDString(A_UUID)
    new = ('<instance><owner><project uuid="0123456789abcdef0123456789abcdef">'
           'newteam</project></owner><flavor name="m1.huge"/></instance>')
    dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, new, "nova",
                    "http://openstack.org/xmlns/libvirt/nova/1.1", 0)
    assert sampler.collect().tenancy_of(A_UUID).project_name == "webteam"  # cached
    reads = resolver.reads
    resolver.invalidate(A_UUID)
    snap = sampler.collect()
    assert resolver.reads == reads + 1
    assert snap.tenancy_of(A_UUID).project_name == "newteam"
    assert snap.tenancy_of(A_UUID).flavor == "m1.huge"


def test_malformed_metadata_logged_once_counted_exported_without_tenancy(
        node_file, service_factory, caplog) -> None:
    text = node_file.read_text()
    assert text.count(BAD_VCPUS) >= 1
    # instance-0000000a's flavor vcpus becomes a non-integer.
    node_file.write_text(text.replace(BAD_VCPUS, "<nova:vcpus>one</nova:vcpus>", 1))
    caplog.set_level(logging.WARNING)
    svc = service_factory(fixtures.test_node_uri(node_file))
    for _ in range(3):
        samples = parse(scrape_text(svc))
    states = {s.labels["uuid"]: s.labels for s in samples["libvirt_domain_info_state"]}
    assert len(states) == 9
    assert states[A_UUID]["project_id"] == ""
    assert states[B_UUID]["project_id"] == "231573b9b3b69a8b660b597946abf47e"
    errors = {(s.labels["source"], s.labels["kind"]): s.value
              for s in samples["enricher_errors_total"]}
    assert errors[("metadata", "malformed")] == 1
    logged = [r for r in caplog.records if "malformed" in r.getMessage()]
    assert len(logged) == 1 and A_UUID in logged[0].getMessage()


def test_domain_vanishing_mid_collection_is_skipped_and_counted(node_file) -> None:
    holder = {}

    def undefine_then_read(dom):
        if dom.UUIDString() == A_UUID:
            gone = holder["conn"].get().lookupByUUIDString(A_UUID)
            gone.destroy()
            gone.undefine()
        return domain_reader.read_domain(dom)

    conn, _, sampler, errors = _stack(fixtures.test_node_uri(node_file),
                                      undefine_then_read)
    holder["conn"] = conn
    snap = sampler.collect()
    assert snap.libvirt_up
    assert A_UUID not in {s.uuid for s in snap.samples}
    assert len(snap.samples) == 8
    assert snap.skipped == 1
    assert errors.get("metadata", "domain_gone") == 1
    assert sampler.collect().libvirt_up


def test_shut_off_domains_export_state_only(service_factory) -> None:
    svc = service_factory(fixtures.test_node_uri())
    samples = parse(scrape_text(svc))
    off = {s.labels["uuid"] for s in samples["libvirt_domain_info_state"]
           if s.labels["state"] == "shutoff"}
    assert off == {"24e4e3d4-da06-4dfe-8397-1ba5ea4eb993",
                   "8809a0fb-5e6a-482b-b9f4-91b9e444b46a"}
    for name, series in samples.items():
        if name.startswith("libvirt_domain_") and not name.startswith(
                ("libvirt_domain_info_", "libvirt_domain_openstack_info")):
            assert not off & {s.labels["uuid"] for s in series}, name


def test_descriptions_come_with_the_tenancy_and_are_not_reread(node_file) -> None:
    _, resolver, sampler, _ = _stack(fixtures.test_node_uri(node_file))
    first = sampler.collect()
    assert set(first.descriptions) == {s.uuid for s in first.samples}
    by_uuid = {s.uuid: s for s in first.samples}
    assert first.description_of(A_UUID).name == by_uuid[A_UUID].name
    reads = resolver.reads
    second = sampler.collect()
    assert resolver.reads == reads
    assert all(second.descriptions[u] is first.descriptions[u] for u in first.descriptions)
