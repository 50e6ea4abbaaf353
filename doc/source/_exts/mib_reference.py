"""Sphinx directive ``mib-reference``: every ENRICHER-MIB object, from the MIB layout.

The layout (enricher.exporters.snmp.mib) is what the MIB file is rendered
from and what a unit test checks against the metric catalog.
"""

from __future__ import annotations

from docutils import nodes
from docutils.parsers.rst import Directive

from enricher.exporters.snmp import mib

HEAD = ("Object", "OID below the base", "Syntax", "Value")


def _source(column: mib.Column) -> str:
    kind, _, name = column.source.partition(":")
    if kind == "family":
        return "%s %s" % (column.description, "(Prometheus: %s)" % name)
    return column.description


def _syntax(column: mib.Column) -> str:
    text = column.syntax.smi.split(" {")[0]
    return text + (" (%s)" % column.units if column.units else "")


def rows() -> list[tuple[str, str, str, str]]:
    layout = mib.Layout(mib.parse_oid(mib.DEFAULT_BASE_OID))
    skip = len(layout.base)
    found = []
    for name, oid in layout.named().items():
        found.append((name, "." + ".".join(map(str, oid[skip:]))))
    columns = {c.name: c for c in mib.all_columns()}
    notes = {n.name: n for n in mib.NOTIFICATIONS_}
    out = []
    for name, oid in found:
        if name in columns:
            column = columns[name]
            out.append((name, oid, _syntax(column), _source(column)))
        elif name in notes:
            out.append((name, oid, "NOTIFICATION-TYPE",
                        "%s Objects: %s." % (notes[name].description,
                                             ", ".join(notes[name].objects))))
        else:
            out.append((name, oid, "table" if name.endswith("Table") else "row", ""))
    return out


class MibReference(Directive):
    def run(self) -> list[nodes.Node]:
        table = nodes.table()
        group = nodes.tgroup(cols=4)
        table += group
        for width in (26, 14, 22, 60):
            group += nodes.colspec(colwidth=width)
        head, body = nodes.thead(), nodes.tbody()
        group += head
        group += body
        for target, cells in ((head, [HEAD]), (body, rows())):
            for cell_texts in cells:
                row = nodes.row()
                for text in cell_texts:
                    entry = nodes.entry()
                    entry += nodes.paragraph(text=text)
                    row += entry
                target += row
        return [table]


def setup(app: object) -> dict[str, object]:
    app.add_directive("mib-reference", MibReference)  # type: ignore[attr-defined]
    return {"parallel_read_safe": True}
