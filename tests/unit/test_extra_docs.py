"""The extra families follow Prometheus naming, and the collectd page maps all of them."""

from __future__ import annotations

import pathlib
import re

import pytest
import yaml

from enricher.exporters import families as fam
from enricher.extra import catalog
from enricher.extra.base import COUNTER, ExtraFamily

ROOT = pathlib.Path(__file__).resolve().parents[2]
PAGE = (ROOT / "doc" / "source" / "collectd.rst").read_text()
RULES = yaml.safe_load((ROOT / "etc" / "enricher" / "recording-rules.yml").read_text())
NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
# Unit suffixes a gauge may end with; info-style gauges and plain counts end otherwise.
UNITS = ("_seconds", "_bytes", "_ratio", "_bytes_per_second", "_pages_per_second",
         "_info", "_severity", "_affinity", "_enabled", "_error", "_iterations")


@pytest.mark.parametrize("family", catalog.FAMILIES, ids=lambda f: f.name)
def test_family_follows_prometheus_naming(family: ExtraFamily) -> None:
    assert NAME.match(family.name)
    assert family.name.startswith("libvirt_domain_")
    assert "percent" not in family.name
    assert family.name.endswith("_total") == (family.type == COUNTER)
    if family.type != COUNTER:
        assert family.name.endswith(UNITS), family.name
    assert family.help.endswith(".") and family.help[0].isupper()
    assert not {"domain", "uuid"} & set(family.labels)


@pytest.mark.parametrize("family", catalog.FAMILIES, ids=lambda f: f.name)
def test_collectd_page_maps_every_family(family: ExtraFamily) -> None:
    assert "``%s" % family.name in PAGE


@pytest.mark.parametrize("name", catalog.NAMES)
def test_collectd_page_describes_every_selector(name: str) -> None:
    assert "``%s``" % name in PAGE


def test_collectd_page_lists_every_recording_rule() -> None:
    records = [rule["record"] for group in RULES["groups"] for rule in group["rules"]]
    assert records
    missing = [r for r in records if "``%s``" % r not in PAGE
               and not r.endswith(":irate1m")]
    assert not missing


def test_metrics_reference_lists_every_extra_family() -> None:
    documented = {entry[0] for entry in fam.SPECIAL + fam.SELF}
    assert {f.name for f in catalog.FAMILIES} <= documented
    assert {"enricher_extra_calls_total", "enricher_collection_interval_seconds"} <= documented


def test_no_extra_family_shadows_a_core_family() -> None:
    core = {f.name for f in fam.DOMAIN + fam.VCPU + fam.BLOCK + fam.NET}
    core |= {fam.PERF_EVENTS.name} | {name for name, _doc in fam.PERF_GAUGES.values()}
    core |= {"libvirt_up", "libvirt_domain_info_state", "libvirt_domain_openstack_info"}
    names = [f.name for f in catalog.FAMILIES]
    assert len(names) == len(set(names))
    assert not core & set(names)
