"""Sphinx directive ``metrics-reference``: every metric family, from the catalog."""

from __future__ import annotations

from docutils import nodes
from docutils.parsers.rst import Directive

from enricher.exporters import catalog, profiles
from enricher.exporters.profiles.model import Mapped
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


def profile_rows(name: str) -> list[tuple[str, str, str, str]]:
    """One row per family of a naming profile: name, type, labels, where it comes from."""
    profile = profiles.get(name)
    per_vm = ", ".join((*profile.domain_labels, TENANT))
    out = []
    for entry in profile.entries():
        if isinstance(entry, Mapped):
            spec = catalog.get(entry.key)
            renames = {**profile.label_renames, **entry.labels}
            own = [renames.get(label, label) for label in spec.labels
                   if label not in entry.where]
            if entry.keep is not None:
                labels = ", ".join(entry.keep)
            else:
                labels = ", ".join(([per_vm] if spec.per_vm else []) + own) or "-"
            source = spec.name
            if entry.scale != 1:
                source += " x %g" % entry.scale
            if entry.where:
                source += " (%s)" % ", ".join('%s="%s"' % kv for kv in entry.where.items())
            out.append((entry.name, entry.type or spec.type, labels, source))
        else:
            labels = ", ".join(([per_vm] if entry.per_vm else []) + list(entry.labels))
            out.append((entry.name, entry.type, labels or "-",
                        "derived (%s): %s" % (entry.derive, entry.help)))
    return out


def _table(body_rows: list[tuple[str, ...]],
           head: tuple[str, ...] = ("Metric", "Type", "Unit", "Labels", "Help"),
           widths: tuple[int, ...] = (38, 8, 10, 22, 52)) -> nodes.table:
    table = nodes.table()
    group = nodes.tgroup(cols=len(head))
    table += group
    for width in widths:
        group += nodes.colspec(colwidth=width)
    head_node = nodes.thead()
    body = nodes.tbody()
    group += head_node
    group += body
    for target, cells in ((head_node, [head]), (body, body_rows)):
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


class ProfileReference(Directive):
    """Render one naming profile's families (``.. profile-reference:: inovex``)."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        return [_table(profile_rows(self.arguments[0]),
                       ("Metric", "Type", "Labels", "From"), (40, 8, 30, 52))]


def setup(app):
    app.add_directive("metrics-reference", MetricsReference)
    app.add_directive("profile-reference", ProfileReference)
    return {"parallel_read_safe": True}
