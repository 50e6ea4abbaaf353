"""Sphinx directive ``metrics-reference``: every metric family, from the catalog."""

from __future__ import annotations

from docutils import nodes
from docutils.parsers.rst import Directive

from enricher.exporters import catalog
from enricher.tenancy import model

TENANT = "tenant labels"

# One table per source, in this order, with what enables it.
SECTIONS = (
    (catalog.CORE, "Per-VM metrics from the bulk stats call and the tenancy cache."),
    (catalog.EXTRA, "The collectd virt plugin's extra statistics: only with "
                    "[DEFAULT] extra_stats naming a selector listed in the help."),
    (catalog.API, "vAdvisor's vm_up: only with [api] enabled (the default)."),
    (catalog.SELF, "Exporter self-metrics, rendered on every scrape."),
    (catalog.EVENTS, "Domain events: only with [events] enabled; rendered on every "
                     "scrape."),
    (catalog.NOVA, "The Nova API fallback: only when Nova credentials are configured."),
    (catalog.DEVICES, "Device identity from the domain XML read with the tenancy: only "
                      "with [prometheus] device_info (always in the inovex profile, as "
                      "its own *_info families)."),
)


def labels(family: catalog.Family) -> str:
    """The label column: the tenant labels stand for the configured set."""
    names = family.label_names((TENANT,)) if family.per_vm else family.labels
    return ", ".join(names) or "-"


def help_text(family: catalog.Family) -> str:
    """The help column: the HELP text plus where the value comes from."""
    text = family.help
    if family.stats_key:
        text += " (libvirt %s)" % family.stats_key
    if family.source == catalog.CORE and family.per_vm and not family.active_only:
        text += " Also for shut-off domains."
    if family.selectors:
        text += " Selector: %s." % ", ".join(family.selectors)
    if family.collectd not in ("", "-"):
        text += " collectd: %s." % family.collectd
    return text


def rows(source: str) -> list[tuple[str, str, str, str, str]]:
    return [(f.name, f.type, f.unit or "-", labels(f), help_text(f))
            for f in catalog.of(source)]


def _table(body_rows: list[tuple[str, str, str, str, str]]) -> nodes.table:
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
                          (body, body_rows)):
        for cells_row in cells:
            row = nodes.row()
            for text in cells_row:
                entry = nodes.entry()
                entry += nodes.paragraph(text=text)
                row += entry
            target += row
    return table


class MetricsReference(Directive):
    """Render every catalog family as one table per source."""

    def run(self) -> list[nodes.Node]:
        out: list[nodes.Node] = [nodes.paragraph(text=(
            "Tenant labels are configurable with [prometheus] tenant_labels; the "
            "default is %s. Unknown values are empty strings."
            % ", ".join(model.DEFAULT_TENANT_LABELS)))]
        for source, intro in SECTIONS:
            out += [nodes.paragraph(text=intro), _table(rows(source))]
        return out


def setup(app):  # noqa: ANN001, ANN201 - Sphinx's extension hook
    app.add_directive("metrics-reference", MetricsReference)
    return {"parallel_read_safe": True}
