"""Background sampling: scrapes are served from the snapshot; events bring collections forward."""

from __future__ import annotations

import time

from tests import fixtures
from tests.functional.conftest import parse, scrape_text

A_UUID = "e22c05ef-5d01-420e-8189-a451e4f10d3e"


def _collected_at(svc) -> float:
    return parse(scrape_text(svc))["enricher_collection_timestamp_seconds"][0].value


def test_many_scrapes_share_one_collection(service_factory, node_file) -> None:
    svc = service_factory(fixtures.test_node_uri(node_file), interval=60)
    first = _collected_at(svc)
    assert first > 0  # the first scrape waited for the first collection
    reads = svc.resolver.reads
    for _ in range(20):
        assert _collected_at(svc) == first
    assert svc.sampler.snapshot.sequence == 1
    assert svc.resolver.reads == reads


def test_domain_event_brings_the_next_collection_forward(service_factory, node_file) -> None:
    svc = service_factory(fixtures.test_node_uri(node_file), interval=300,
                          libvirt__read_only=False)
    states = {s.labels["uuid"]: s.labels["state"]
              for s in parse(scrape_text(svc))["libvirt_domain_info_state"]}
    assert states[A_UUID] == "running"
    svc.connection.get().lookupByUUIDString(A_UUID).suspend()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        states = {s.labels["uuid"]: s.labels["state"]
                  for s in parse(scrape_text(svc))["libvirt_domain_info_state"]}
        if states[A_UUID] == "paused":
            break
        time.sleep(0.05)
    assert states[A_UUID] == "paused"
    assert svc.sampler.snapshot.sequence == 2  # one early collection, not a scrape-driven one
