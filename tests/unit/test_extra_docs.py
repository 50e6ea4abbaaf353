"""The extra families follow Prometheus naming, and the collectd page maps all of them."""

from __future__ import annotations

import pathlib
import re

import pytest
import yaml

from enricher.exporters import catalog as metrics
from enricher.extra import catalog

ROOT = pathlib.Path(__file__).resolve().parents[2]
PAGE = (ROOT / "doc" / "source" / "collectd.rst").read_text()
RULES = yaml.safe_load((ROOT / "etc" / "enricher" / "recording-rules.yml").read_text())
NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
# Unit suffixes a gauge may end with; info-style gauges and plain counts end otherwise.
UNITS = ("_seconds", "_bytes", "_ratio", "_bytes_per_second", "_pages_per_second",
         "_info", "_severity", "_affinity", "_enabled", "_error", "_iterations")


EXTRA = [f for f in metrics.of(metrics.EXTRA) if f.per_vm]


@pytest.mark.parametrize("family", EXTRA, ids=lambda f: f.name)
def test_family_follows_prometheus_naming(family: metrics.Family) -> None:
    assert NAME.match(family.name)
    assert family.name.startswith("libvirt_domain_")
    assert "percent" not in family.name
    assert family.name.endswith("_total") == (family.type == metrics.COUNTER)
    if family.type != metrics.COUNTER:
        assert family.name.endswith(UNITS), family.name
    assert family.help.endswith(".") and family.help[0].isupper()
    assert not {"domain", "uuid"} & set(family.labels)


@pytest.mark.parametrize("family", EXTRA, ids=lambda f: f.name)
def test_collectd_page_maps_every_family(family: metrics.Family) -> None:
    assert "``%s" % family.name in PAGE


@pytest.mark.parametrize("name", catalog.NAMES)
def test_collectd_page_describes_every_selector(name: str) -> None:
    assert "``%s``" % name in PAGE


def test_collectd_page_lists_every_recording_rule() -> None:
    # The collectd virt plugin's group; the per-project group is the dashboards page's.
    records = [rule["record"] for group in RULES["groups"] for rule in group["rules"]
               if group["name"] == "enricher-collectd-virt"]
    assert records
    missing = [r for r in records if "``%s``" % r not in PAGE
               and not r.endswith(":irate1m")]
    assert not missing
