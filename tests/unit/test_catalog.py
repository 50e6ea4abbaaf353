"""The metric catalog: well-formed entries, each one filled by code, all in the docs."""

from __future__ import annotations

import ast
import dataclasses
import pathlib
import sys
from types import MappingProxyType

import pytest

from enricher.exporters import catalog, prometheus
from enricher.extra import catalog as selectors
from enricher.libvirt.stats import sample_from_record
from enricher.sampler import Snapshot
from enricher.tenancy import model
from tests.fakes import Domain

ROOT = pathlib.Path(__file__).resolve().parents[2]
UNITS = ("", "seconds", "bytes", "bytes_per_second", "pages_per_second", "ratio")

# One running domain as virConnectGetAllDomainStats documents its keys (libvirt
# 9.0, every group the core families read); perf events as the host reports them.
RECORD = {
    "state.state": 1, "state.reason": 1,
    "cpu.time": 3_000_000_000, "cpu.user": 1_000_000_000, "cpu.system": 2_000_000_000,
    "balloon.current": 65536, "balloon.maximum": 131072, "balloon.swap_in": 1,
    "balloon.swap_out": 2, "balloon.major_fault": 3, "balloon.minor_fault": 4,
    "balloon.unused": 5, "balloon.available": 6, "balloon.usable": 7,
    "balloon.last-update": 1_700_000_000, "balloon.disk_caches": 8, "balloon.rss": 9,
    "vcpu.current": 1, "vcpu.maximum": 2, "vcpu.0.state": 1, "vcpu.0.time": 10,
    "vcpu.0.wait": 11, "vcpu.0.delay": 12,
    "net.count": 1, "net.0.name": "tap0", "net.0.rx.bytes": 13, "net.0.rx.pkts": 14,
    "net.0.rx.errs": 0, "net.0.rx.drop": 0, "net.0.tx.bytes": 15, "net.0.tx.pkts": 16,
    "net.0.tx.errs": 0, "net.0.tx.drop": 0,
    "block.count": 1, "block.0.name": "vda", "block.0.path": "/var/lib/a.qcow2",
    "block.0.rd.reqs": 17, "block.0.rd.bytes": 18, "block.0.rd.times": 19,
    "block.0.wr.reqs": 20, "block.0.wr.bytes": 21, "block.0.wr.times": 22,
    "block.0.fl.reqs": 23, "block.0.fl.times": 24, "block.0.allocation": 25,
    "block.0.capacity": 26, "block.0.physical": 27,
    "perf.cmt": 28, "perf.mbmt": 29, "perf.mbml": 30, "perf.cpu_cycles": 31,
    "perf.instructions": 32,
}


def test_names_are_unique_and_are_the_keys() -> None:
    assert len(catalog.BY_NAME) == len(catalog.FAMILIES)
    assert all(f.key == f.name for f in catalog.FAMILIES)
    assert [s for s in catalog.SOURCES if catalog.of(s)] == list(catalog.SOURCES)


def test_entries_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        catalog.get("libvirt_up").name = "other"  # type: ignore[misc]


@pytest.mark.parametrize("family", catalog.FAMILIES, ids=lambda f: f.name)
def test_entry_is_well_formed(family: catalog.Family) -> None:
    # vm_up keeps vAdvisor's name, which its users' dashboards read.
    assert family.name.startswith(("libvirt_", "enricher_")) or family.name == "vm_up"
    assert family.type in (catalog.GAUGE, catalog.COUNTER, catalog.SUMMARY)
    assert family.name.endswith("_total") == (family.type == catalog.COUNTER)
    assert family.source in catalog.SOURCES
    assert family.unit in UNITS
    assert family.name.removesuffix("_total").endswith(family.unit)
    assert family.help[0].isupper() and family.help.endswith((".", ")"))
    assert not family.per_vm or not set(catalog.DOMAIN_LABELS) & set(family.labels)
    assert bool(family.selectors) == (family.source == catalog.EXTRA and family.per_vm)
    assert set(family.selectors) <= set(selectors.NAMES)
    assert not family.stats_key or family.source == catalog.CORE


def test_every_selector_that_reports_has_families() -> None:
    exported = {s for f in catalog.FAMILIES for s in f.selectors}
    reporting = {e.name for e in selectors.SELECTORS if e.make is not None}
    assert exported == reporting


def test_label_names_put_the_tenant_labels_after_domain_and_uuid() -> None:
    labels = ("project_name", "flavor")
    assert catalog.get("libvirt_domain_vcpu_time_seconds_total").label_names(labels) == (
        "domain", "uuid", "project_name", "flavor", "vcpu")
    assert catalog.get("enricher_errors_total").label_names(labels) == ("source", "kind")


def test_every_core_entry_is_filled_from_a_bulk_stats_record() -> None:
    """A core entry whose stats key libvirt does not give is never exported."""
    sample = sample_from_record(Domain(), RECORD)
    snapshot = Snapshot(samples=(sample,), tenancy=MappingProxyType({}), libvirt_up=True,
                        collected_at=1.0, duration=0.1)
    emitted = {f.name + ("_total" if f.type == "counter" else "")
               for f in prometheus.domain_families(snapshot, model.DEFAULT_TENANT_LABELS)}
    assert emitted == {f.name for f in catalog.of(catalog.CORE)}


def _names_in_code() -> set[str]:
    """String constants (not docstrings) of enricher/ outside the catalog itself."""
    found: set[str] = set()
    for path in (ROOT / "enricher").rglob("*.py"):
        if path == ROOT / "enricher" / "exporters" / "catalog.py":
            continue
        tree = ast.parse(path.read_text())
        docstrings = {id(node.value) for node in ast.walk(tree)
                      if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)}
        found |= {node.value for node in ast.walk(tree)
                  if isinstance(node, ast.Constant) and isinstance(node.value, str)
                  and id(node) not in docstrings}
    return found


@pytest.mark.parametrize("family", [f for f in catalog.FAMILIES if not f.stats_key],
                         ids=lambda f: f.name)
def test_every_other_entry_is_named_by_the_code_that_fills_it(family: catalog.Family
                                                               ) -> None:
    """Families without a stats key are filled by name (a selector's point, a value)."""
    assert family.name in _NAMES_IN_CODE, "nothing fills %s" % family.name


_NAMES_IN_CODE = _names_in_code()


def test_the_docs_reference_lists_every_family() -> None:
    sys.path.insert(0, str(ROOT / "doc" / "source" / "_exts"))
    try:
        import metrics_reference
    finally:
        sys.path.remove(str(ROOT / "doc" / "source" / "_exts"))
    assert [s for s, _ in metrics_reference.SECTIONS] == list(catalog.SOURCES)
    rows = [row for s, _ in metrics_reference.SECTIONS for row in metrics_reference.rows(s)]
    assert [row[0] for row in rows] == [f.name for f in catalog.FAMILIES]
    by_name = {row[0]: row for row in rows}
    assert by_name["libvirt_domain_vcpu_state"][3] == "domain, uuid, tenant labels, vcpu"
    assert "Selector: pcpu." in by_name["libvirt_domain_pcpu_time_seconds_total"][4]
