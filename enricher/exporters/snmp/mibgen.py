"""Render ENRICHER-MIB (SMIv2) from the layout in :mod:`enricher.exporters.snmp.mib`.

``python -m enricher.exporters.snmp.mibgen > etc/enricher/mibs/ENRICHER-MIB.txt``
rewrites the shipped file; a unit test fails when the two differ. With
``--base-oid 1.3.6.1.4.1.<PEN>.<n>`` it renders the module for another
``[snmp] base_oid`` (under enterprises).
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Iterator

from enricher.exporters.snmp import mib

REVISION = "202612020000Z"
_INDENT = " " * 12


def _text(text: str, indent: str = _INDENT) -> str:
    """A quoted DESCRIPTION, wrapped."""
    if '"' in text:
        raise ValueError("a double quote in MIB text: %r" % text)
    lines = textwrap.wrap(text, 72 - len(indent)) or [""]
    return ('"' + ("\n" + indent + " ").join(lines) + '"')


def _entry_name(table: mib.Table) -> str:
    return table.name[0].lower() + table.name[1:] + "Entry"


def _column(column: mib.Column, parent: str) -> Iterator[str]:
    yield "%s OBJECT-TYPE" % column.name
    yield "    SYNTAX      %s" % column.syntax.smi
    if column.units:
        yield '    UNITS       "%s"' % column.units
    yield "    MAX-ACCESS  %s" % column.access
    yield "    STATUS      current"
    yield "    DESCRIPTION"
    yield "        " + _text(_describe(column), " " * 8)
    yield "    ::= { %s %d }" % (parent, column.subid)
    yield ""


def _describe(column: mib.Column) -> str:
    kind, _, name = column.source.partition(":")
    if kind == "family":
        return "%s Prometheus: %s." % (column.description, name)
    return column.description


def _sequence(table: mib.Table) -> Iterator[str]:
    yield "%s ::= SEQUENCE {" % table.entry_type
    width = max(len(c.name) for c in table.columns) + 1
    items = ["    %s %s" % (c.name.ljust(width), c.syntax.smi.split(" {")[0].split(" (")[0])
             for c in table.columns]
    yield ",\n".join(items)
    yield "}"
    yield ""


def _table(table: mib.Table) -> Iterator[str]:
    entry = table.name + "Entry"
    yield "%sTable OBJECT-TYPE" % table.name
    yield "    SYNTAX      SEQUENCE OF %s" % table.entry_type
    yield "    MAX-ACCESS  not-accessible"
    yield "    STATUS      current"
    yield "    DESCRIPTION"
    yield "        " + _text(table.description, " " * 8)
    yield "    ::= { enrObjects %d }" % table.subid
    yield ""
    yield "%s OBJECT-TYPE" % entry
    yield "    SYNTAX      %s" % table.entry_type
    yield "    MAX-ACCESS  not-accessible"
    yield "    STATUS      current"
    yield "    DESCRIPTION"
    yield "        " + _text("A row of %sTable." % table.name, " " * 8)
    yield "    INDEX       { %s }" % ", ".join(table.index)
    yield "    ::= { %sTable 1 }" % table.name
    yield ""
    yield from _sequence(table)
    for column in table.columns:
        yield from _column(column, entry)


def _group(name: str, kind: str, members: Iterable[str], description: str) -> Iterator[str]:
    clause = "NOTIFICATIONS" if kind == "NOTIFICATION-GROUP" else "OBJECTS"
    yield "%s %s" % (name, kind)
    yield "    %s {" % clause
    yield ",\n".join("        " + m for m in members)
    yield "    }"
    yield "    STATUS      current"
    yield "    DESCRIPTION"
    yield "        " + _text(description, " " * 8)
    yield "    ::= { enrGroups %d }" % _GROUP_IDS[name]
    yield ""


def _accessible(table: mib.Table) -> list[str]:
    return [c.name for c in table.columns if c.access != "not-accessible"]


_GROUPS = (
    ("enrHealthGroup", "The exporter's health.",
     lambda: [c.name for c in mib.HEALTH_SCALARS]),
    ("enrVmGroup", "The VM table.", lambda: _accessible(mib.VM_TABLE)),
    ("enrDiskGroup", "The disk table.", lambda: _accessible(mib.DISK_TABLE)),
    ("enrNicGroup", "The NIC table.", lambda: _accessible(mib.NIC_TABLE)),
    ("enrVcpuGroup", "The vCPU table.", lambda: _accessible(mib.VCPU_TABLE)),
    ("enrExtraGroup", "The collectd virt plugin's extra statistics and perf events.",
     lambda: _accessible(mib.EXTRA_TABLE) + _accessible(mib.PERF_TABLE)),
    ("enrEventObjectsGroup", "Objects sent in notifications only.",
     lambda: [c.name for c in mib.EVENT_COLUMNS]),
)
_GROUP_IDS = {name: i for i, (name, _, _) in enumerate(_GROUPS, 1)}
_GROUP_IDS["enrNotificationsGroup"] = len(_GROUPS) + 1
_OPTIONAL = {"enrVcpuGroup": "Only when libvirt's vcpu stats group is collected.",
             "enrExtraGroup": "Only with [DEFAULT] extra_stats."}


ENTERPRISES = (1, 3, 6, 1, 4, 1)


def module_parent(base_oid: str) -> tuple[str, tuple[int, ...]]:
    """The MODULE-IDENTITY value of ``base_oid``: ("enterprises", (PEN, ...))."""
    oid = mib.parse_oid(base_oid)
    if oid[:6] != ENTERPRISES or len(oid) < 7:
        raise ValueError("the base OID must be under enterprises (1.3.6.1.4.1.<PEN>...)")
    return "enterprises", oid[6:]


def render(base_oid: str = mib.DEFAULT_BASE_OID) -> str:
    """The whole MIB module, its identity at ``base_oid``."""
    parent, subids = module_parent(base_oid)
    lines = [
        "%s DEFINITIONS ::= BEGIN" % mib.MODULE,
        "",
        "IMPORTS",
        "    MODULE-IDENTITY, OBJECT-TYPE, NOTIFICATION-TYPE,",
        "    Counter64, Gauge32, Integer32, Unsigned32, enterprises",
        "        FROM SNMPv2-SMI",
        "    TEXTUAL-CONVENTION, TruthValue, MacAddress",
        "        FROM SNMPv2-TC",
        "    MODULE-COMPLIANCE, OBJECT-GROUP, NOTIFICATION-GROUP",
        "        FROM SNMPv2-CONF;",
        "",
        "enricherMIB MODULE-IDENTITY",
        '    LAST-UPDATED "%s"' % REVISION,
        '    ORGANIZATION "enricher developers"',
        '    CONTACT-INFO "The enricher project: doc/source/snmp.rst."',
        "    DESCRIPTION",
        "        " + _text(
            "Per-VM metrics of a libvirt compute node with each VM's OpenStack "
            "tenancy, served by the enricher as an AgentX subagent of the host's "
            "snmpd. The module sits under enterprise number 32473, which RFC 5612 "
            "reserves for examples: production use wants the operator's own or a "
            "registered enterprise number, set as [snmp] base_oid; the objects keep "
            "their place under it.", " " * 8),
        '    REVISION     "%s"' % REVISION,
        "    DESCRIPTION",
        '        "First version."',
        "    ::= { %s %s }" % (parent, " ".join(str(s) for s in subids)),
        "",
        "EnrUtf8String ::= TEXTUAL-CONVENTION",
        '    DISPLAY-HINT "%dt"' % mib.STRING_MAX,
        "    STATUS       current",
        "    DESCRIPTION",
        "        " + _text("UTF-8 text as the enricher read it from libvirt or Nova, "
                           "cut at a character boundary to %d bytes." % mib.STRING_MAX,
                           " " * 8),
        "    SYNTAX       OCTET STRING (SIZE (0..%d))" % mib.STRING_MAX,
        "",
        "enrObjects       OBJECT IDENTIFIER ::= { enricherMIB %d }" % mib.OBJECTS,
        "enrNotifications OBJECT IDENTIFIER ::= { enricherMIB %d }" % mib.NOTIFICATIONS,
        "enrConformance   OBJECT IDENTIFIER ::= { enricherMIB %d }" % mib.CONFORMANCE,
        "enrHealth        OBJECT IDENTIFIER ::= { enrObjects %d }" % mib.HEALTH,
        "enrEventObjects  OBJECT IDENTIFIER ::= { enrObjects %d }" % mib.EVENT_OBJECTS,
        "enrNotificationPrefix OBJECT IDENTIFIER ::= { enrNotifications 0 }",
        "enrCompliances   OBJECT IDENTIFIER ::= { enrConformance 1 }",
        "enrGroups        OBJECT IDENTIFIER ::= { enrConformance 2 }",
        "",
    ]
    for column in mib.HEALTH_SCALARS:
        lines += _column(column, "enrHealth")
    for table in mib.TABLES:
        lines += _table(table)
    for column in mib.EVENT_COLUMNS:
        lines += _column(column, "enrEventObjects")
    for notification in mib.NOTIFICATIONS_:
        lines += [
            "%s NOTIFICATION-TYPE" % notification.name,
            "    OBJECTS     {",
            ",\n".join("        " + o for o in notification.objects),
            "    }",
            "    STATUS      current",
            "    DESCRIPTION",
            "        " + _text(notification.description, " " * 8),
            "    ::= { enrNotificationPrefix %d }" % notification.subid,
            "",
        ]
    lines += [
        "enrCompliance MODULE-COMPLIANCE",
        "    STATUS      current",
        "    DESCRIPTION",
        '        "What an enricher serves."',
        "    MODULE",
        "        MANDATORY-GROUPS {",
        ",\n".join("            " + name for name, _, _ in _GROUPS if name not in _OPTIONAL)
        + ",\n            enrNotificationsGroup",
        "        }",
    ]
    for name, why in _OPTIONAL.items():
        lines += ["        GROUP       %s" % name,
                  "        DESCRIPTION",
                  "            " + _text(why, " " * 12)]
    lines += ["    ::= { enrCompliances 1 }", ""]
    for name, description, members in _GROUPS:
        lines += _group(name, "OBJECT-GROUP", members(), description)
    lines += _group("enrNotificationsGroup", "NOTIFICATION-GROUP",
                    [n.name for n in mib.NOTIFICATIONS_], "The notifications.")
    lines += ["END", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-oid", default=mib.DEFAULT_BASE_OID,
                        help="the [snmp] base_oid to render the module for")
    args = parser.parse_args(argv)
    try:
        print(render(args.base_oid), end="")
    except ValueError as exc:
        parser.error(str(exc))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
