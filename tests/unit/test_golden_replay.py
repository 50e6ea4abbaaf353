"""The per-VM exposition of recorded real guests, byte for byte against a golden file.

The libvirt test driver gives only the state group, so the demo-node golden
files never see CPU, memory, vCPU, block or network series. Here the bulk
stats libvirt gave for the two e2e guests (QEMU/KVM, recorded by
``python -m tests.e2e.record_stats``) go through the production path from a
stats record to the rendered bytes. Regenerate with
``ENRICHER_REGENERATE_GOLDEN=1`` (see tests/golden.py).
"""

from __future__ import annotations

import json
from types import MappingProxyType

from lxml import etree

from enricher.exporters.exposition import MetricsApp
from enricher.health import ErrorCounts
from enricher.libvirt.metadata import NOVA_NAMESPACES
from enricher.libvirt.stats import sample_from_record
from enricher.sampler import Snapshot
from enricher.tenancy import metadata, model
from tests import fixtures, golden
from tests.fakes import Domain


def _tenancy(domain_xml: str, uuid: str) -> model.Tenancy:
    """The recorded domain's nova:instance, as the resolver reads it (1.1 first)."""
    root = etree.fromstring(domain_xml.encode())
    for namespace in NOVA_NAMESPACES:
        found = root.find("metadata/{%s}instance" % namespace)
        if found is not None:
            return metadata.tenancy_from_element(found, uuid)
    raise AssertionError("no nova:instance in the recorded XML")


def _snapshot() -> Snapshot:
    records = json.loads((fixtures.GOLDEN / "e2e-guests-stats.json").read_text())
    samples = tuple(sample_from_record(Domain(r["name"], r["uuid"], r["id"]), r["stats"])
                    for r in records)
    tenancy = {r["uuid"]: _tenancy(r["xml"], r["uuid"]) for r in records}
    return Snapshot(samples=samples, tenancy=MappingProxyType(tenancy), libvirt_up=True,
                    collected_at=1.0, duration=0.1)


def test_recorded_guests_render_as_the_golden_file() -> None:
    app = MetricsApp(None, ErrorCounts(), model.DEFAULT_TENANT_LABELS)
    text = app.prepare(_snapshot()).plain.decode("utf-8")
    assert 'libvirt_domain_block_read_bytes_total{device="vda",' in text
    golden.check("e2e-guests.prom", text)
