"""ENRICHER-MIB against the metric catalog, the layout table and the shipped file."""

from __future__ import annotations

import pathlib
import re

import pytest

from enricher.exporters import catalog
from enricher.exporters.snmp import mib, mibgen

MIB_FILE = pathlib.Path(__file__).resolve().parents[2] / "etc/enricher/mibs/ENRICHER-MIB.txt"
PER_VM_SOURCES = (catalog.CORE, catalog.EXTRA)
_OBJECT = re.compile(
    r"^(\w+) OBJECT-TYPE\n\s+SYNTAX\s+(.+?)\n(?:\s+UNITS\s+\"([^\"]*)\"\n)?"
    r"\s+MAX-ACCESS\s+(\S+)\n.*?DESCRIPTION\n\s+\"(.*?)\"\n.*?::= \{ (\w+) (\d+) \}",
    re.M | re.S)
_NODE = re.compile(r"^(\w+)\s+OBJECT IDENTIFIER ::= \{ (\w+) (\d+) \}", re.M)


def parsed_mib() -> dict[str, dict[str, str]]:
    """Every OBJECT-TYPE of the shipped MIB file: syntax, units, access, text, OID."""
    text = MIB_FILE.read_text()
    parents = {"enricherMIB": mib.parse_oid(mib.DEFAULT_BASE_OID)}
    for name, parent, sub in _NODE.findall(text):
        parents[name] = (*parents[parent], int(sub))
    objects = {}
    for name, syntax, units, access, description, parent, sub in _OBJECT.findall(text):
        oid = (*parents[parent], int(sub))
        parents[name] = oid
        objects[name] = {"syntax": syntax.strip(), "units": units, "access": access,
                         "description": " ".join(description.split()), "oid": oid}
    return objects


def test_the_shipped_mib_is_the_rendered_layout() -> None:
    assert MIB_FILE.read_text() == mibgen.render(), (
        "regenerate: python -m enricher.exporters.snmp.mibgen > %s" % MIB_FILE)


def test_every_per_vm_family_is_served_or_said_why_not() -> None:
    served = mib.families()
    per_vm = {f.name for f in catalog.FAMILIES if f.source in PER_VM_SOURCES and f.per_vm}
    per_vm |= {"libvirt_domain_openstack_info"}
    events = {f.name for f in catalog.of(catalog.EVENTS) if f.per_vm}
    missing = (per_vm | events) - served - set(mib.not_served())
    assert not missing, "new catalog families: serve them in the MIB or list them in " \
                        "mib.NOT_SERVED: %s" % sorted(missing)
    assert not served & set(mib.not_served())
    assert all(catalog.get(name) for name in served | set(mib.not_served()))


def test_columns_agree_with_their_families() -> None:
    labels = {*catalog.DOMAIN_LABELS, *catalog.INFO_FIELDS, "source",
              *(label for f in catalog.FAMILIES for label in f.labels)}
    for column in mib.all_columns():
        kind, _, name = column.source.partition(":")
        assert kind in ("family", "label", "description", "derived"), column.name
        if kind == "label":
            assert name in labels, column.name
        if kind != "family":
            continue
        spec = catalog.get(name)
        # Counters are Counter64 and nothing else is.
        assert (column.syntax == mib.COUNTER64) == (spec.type == catalog.COUNTER), \
            column.name
        if spec.source == catalog.CORE and spec.per_vm:
            # Core families are served in libvirt's raw unit.
            raw = {catalog.NS: "nanoseconds", catalog.KIB: "KiB"}.get(spec.scale, spec.unit)
            assert column.units == raw, (column.name, spec.scale, spec.unit)
        for label, _ in column.labels:
            assert label in spec.labels, column.name
        if column.value_label:
            assert column.value_label in spec.labels, column.name


def test_the_parsed_mib_has_every_column_at_its_oid_with_its_syntax() -> None:
    objects = parsed_mib()
    named = mib.Layout(mib.parse_oid(mib.DEFAULT_BASE_OID)).named()
    columns = {c.name: c for c in mib.all_columns()}
    assert set(columns) <= set(objects)
    for name, column in columns.items():
        found = objects[name]
        assert found["oid"] == named[name], name
        assert found["syntax"] == column.syntax.smi, name
        assert found["units"] == column.units, name
        assert found["access"] == column.access, name
        kind, _, family = column.source.partition(":")
        if kind == "family":  # the description names the Prometheus family
            assert "Prometheus: %s." % family in found["description"], name
    tables = {t.name + "Table" for t in mib.TABLES} | {t.name + "Entry" for t in mib.TABLES}
    assert set(objects) == set(columns) | tables


@pytest.mark.parametrize("text", ["1.3.six", "", "5.1", "1"])
def test_bad_base_oids(text: str) -> None:
    with pytest.raises(ValueError):
        mib.parse_oid(text)
