"""Sphinx directive ``metrics-reference``: every metric family from the code's table."""

from __future__ import annotations

from docutils import nodes
from docutils.parsers.rst import Directive

from enricher.exporters import families as fam
from enricher.exporters import nova_metrics
from enricher.tenancy import model

TENANT = "domain, uuid, tenant labels"


def _unit(name: str) -> str:
    for suffix in ("seconds", "bytes_per_second", "bytes"):
        if name.removesuffix("_total").endswith(suffix):
            return suffix
    return "ratio" if name.endswith("ratio") else "-"


def _table(rows: list[tuple[str, str, str, str, str]]) -> nodes.table:
    table = nodes.table()
    group = nodes.tgroup(cols=5)
    table += group
    for width in (38, 8, 10, 22, 52):
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    body = nodes.tbody()
    group += head
    group += body
    for target, cells in ((head, [("Metric", "Type", "Unit", "Labels", "Help")]),
                          (body, rows)):
        for cells_row in cells:
            row = nodes.row()
            for text in cells_row:
                entry = nodes.entry()
                entry += nodes.paragraph(text=text)
                row += entry
            target += row
    return table


class MetricsReference(Directive):
    """Render the per-VM and self-metric families as tables."""

    def run(self) -> list[nodes.Node]:
        rows = []
        for name, typ, extra, doc in fam.SPECIAL:
            labels = TENANT if extra is None else (
                "%s, %s" % (TENANT, extra) if extra else TENANT)
            if name == "libvirt_up":
                labels = "-"
            if name == "libvirt_domain_openstack_info":
                labels = "domain, uuid, every tenancy field, port_ids, fixed_ips, source"
            rows.append((name, typ, _unit(name), labels, doc))
        for specs, extra in ((fam.DOMAIN, ""), (fam.VCPU, "vcpu"), (fam.BLOCK, "device"),
                             (fam.NET, "interface")):
            for spec in specs:
                labels = "%s, %s" % (TENANT, extra) if extra else TENANT
                scope = "" if spec.active_only else " Also for shut-off domains."
                rows.append((spec.name, spec.type, _unit(spec.name), labels,
                             "%s (libvirt %s)%s" % (spec.help, spec.key, scope)))
        own = [(name, typ, _unit(name), "source, kind" if "errors" in name else "-", doc)
               for name, typ, doc in fam.SELF]
        own += [(name, typ, _unit(name), labels, doc)
                for name, typ, labels, doc in nova_metrics.FAMILIES]
        note = nodes.paragraph(text=(
            "Tenant labels are configurable with [prometheus] tenant_labels; the "
            "default is %s. Unknown values are empty strings."
            % ", ".join(model.DEFAULT_TENANT_LABELS)))
        return [note, _table(rows), nodes.paragraph(text="Exporter self-metrics:"),
                _table(own)]


def setup(app):  # noqa: ANN001, ANN201 - Sphinx's extension hook
    app.add_directive("metrics-reference", MetricsReference)
    return {"parallel_read_safe": True}
