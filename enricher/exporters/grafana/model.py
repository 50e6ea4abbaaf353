"""Grafana dashboards as data, rendered to provisionable dashboard JSON.

A dashboard is rows of panels, a panel a list of PromQL queries written with
the seed profile's family names. ``render`` turns one into the JSON Grafana
provisions (schemaVersion 39, the ``datasource``, ``project`` and
``instance`` or ``node`` variables, no data source uid of any installation);
``rename`` maps family names for another naming profile.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

SCHEMA_VERSION = 39
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
TAGS = ("enricher", "openstack", "libvirt")
FULL_WIDTH = 24
PANEL_HEIGHT = 8
# Family and recording rule names in an expression (label names and values aside).
NAME_RE = re.compile(r"(?<![\w\"=~])"
                     r"((?:libvirt|enricher)_[a-z0-9_]+|[a-z_]+:[a-z0-9_]+:[a-z0-9_]+)"
                     r"(?![\w\"])")


@dataclasses.dataclass(frozen=True)
class Query:
    """One PromQL target of a panel."""

    expr: str
    legend: str = ""
    # What the query needs beyond a running enricher and QEMU guests to return
    # data (a guest balloon driver, host perf support, ...); "" for nothing.
    needs: str = ""


@dataclasses.dataclass(frozen=True)
class Panel:
    """A timeseries, stat or table panel."""

    title: str
    queries: tuple[Query, ...]
    unit: str = "short"
    kind: str = "timeseries"  # timeseries, stat or table (tables query instants)
    width: int = 12
    description: str = ""


@dataclasses.dataclass(frozen=True)
class Row:
    title: str
    panels: tuple[Panel, ...]


@dataclasses.dataclass(frozen=True)
class Variable:
    """A query variable over a label of one family (``node``: Prometheus's instance)."""

    name: str
    label: str
    query: str  # label_values(...) with the seed names
    multi: bool = True


@dataclasses.dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    description: str
    variables: tuple[Variable, ...]
    rows: tuple[Row, ...]
    profiles: tuple[str, ...] = ("seed",)  # naming profiles it is offered for
    # Reads only families every profile leaves alone (self, events, Nova): one
    # file serves all its profiles.
    profile_independent: bool = False

    def panels(self) -> Iterator[Panel]:
        for row in self.rows:
            yield from row.panels


def identity(name: str) -> str:
    return name


@dataclasses.dataclass(frozen=True)
class Translation:
    """A naming profile as PromQL sees it: family names and per-VM label names."""

    names: Callable[[str], str | None]  # None: the profile does not export the family
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def expr(self, expr: str) -> str | None:
        """``expr`` in the profile's names, or None if it reads a family it lacks."""
        if any(self.names(name) is None for name in names(expr)):
            return None
        out = rename_expr(expr, lambda name: self.names(name) or name)
        return self.label_names(out)

    def label_names(self, text: str) -> str:
        for old, new in self.labels.items():
            text = re.sub(r"(?<![\w.])%s(?!\w)" % old, new, text)
        return text


SEED = Translation(lambda name: name)


def translate(dashboard: Dashboard, translation: Translation) -> Dashboard:
    """``dashboard`` in another profile: queries renamed, those it cannot answer dropped
    (and panels left without a query)."""
    if translation is SEED or dashboard.profile_independent:
        return dashboard
    rows = []
    for row in dashboard.rows:
        panels = []
        for panel in row.panels:
            queries = []
            for query in panel.queries:
                expr = translation.expr(query.expr)
                if expr is not None:
                    queries.append(dataclasses.replace(
                        query, expr=expr, legend=translation.label_names(query.legend)))
            if queries:
                panels.append(dataclasses.replace(panel, queries=tuple(queries)))
        if panels:
            rows.append(Row(row.title, tuple(panels)))
    variables = tuple(dataclasses.replace(v, query=translation.expr(v.query) or v.query)
                      for v in dashboard.variables)
    return dataclasses.replace(dashboard, rows=tuple(rows), variables=variables)


def rename_expr(expr: str, rename: Callable[[str], str]) -> str:
    """``expr`` with each family or rule name replaced by ``rename(name)``."""
    return NAME_RE.sub(lambda match: rename(match.group(1)), expr)


def names(expr: str) -> set[str]:
    """The family and recording rule names an expression reads."""
    return set(NAME_RE.findall(expr))


def _variable(var: Variable, rename: Callable[[str], str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "query", "name": var.name, "label": var.label, "datasource": DATASOURCE,
        "query": rename_expr(var.query, rename), "refresh": 2, "sort": 1,
        "multi": var.multi, "includeAll": var.multi,
    }
    if var.multi:
        out["allValue"] = ".*"
    return out


def _target(query: Query, ref: str, kind: str, rename: Callable[[str], str]
            ) -> dict[str, Any]:
    target: dict[str, Any] = {"refId": ref, "datasource": DATASOURCE,
                              "expr": rename_expr(query.expr, rename)}
    if kind == "table":
        target.update(format="table", instant=True, range=False)
    else:
        target.update(legendFormat=query.legend or "__auto", range=True, instant=False)
    return target


def _panel(panel: Panel, ident: int, x: int, y: int, rename: Callable[[str], str]
           ) -> dict[str, Any]:
    refs = [chr(ord("A") + i) for i in range(len(panel.queries))]
    targets = [_target(q, r, panel.kind, rename)
               for q, r in zip(panel.queries, refs, strict=True)]
    out: dict[str, Any] = {
        "type": panel.kind, "id": ident, "title": panel.title,
        "datasource": DATASOURCE,
        "gridPos": {"h": PANEL_HEIGHT, "w": panel.width, "x": x, "y": y},
        "targets": targets,
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "options": ({"showHeader": True} if panel.kind == "table" else
                    {"reduceOptions": {"calcs": ["lastNotNull"]}} if panel.kind == "stat" else
                    {"legend": {"displayMode": "table", "placement": "bottom",
                                "calcs": ["mean", "max"]},
                     "tooltip": {"mode": "multi", "sort": "desc"}}),
    }
    if panel.description:
        out["description"] = panel.description
    return out


def render(dashboard: Dashboard, rename: Callable[[str], str] = identity,
           suffix: str = "") -> dict[str, Any]:
    """The provisionable JSON model of ``dashboard`` (``suffix`` goes after uid and title)."""
    panels: list[dict[str, Any]] = []
    ident, y = 1, 0
    for row in dashboard.rows:
        panels.append({"type": "row", "id": ident, "title": row.title, "collapsed": False,
                       "gridPos": {"h": 1, "w": FULL_WIDTH, "x": 0, "y": y}, "panels": []})
        ident, y, x = ident + 1, y + 1, 0
        for panel in row.panels:
            if x + panel.width > FULL_WIDTH:
                x, y = 0, y + PANEL_HEIGHT
            panels.append(_panel(panel, ident, x, y, rename))
            ident, x = ident + 1, x + panel.width
        y += PANEL_HEIGHT
    datasource = {"type": "datasource", "name": "datasource", "label": "Data source",
                  "query": "prometheus", "refresh": 1, "hide": 0}
    return {
        "uid": dashboard.uid + suffix,
        "title": dashboard.title + (" (%s)" % suffix.strip("-") if suffix else ""),
        "description": dashboard.description,
        "tags": list(TAGS),
        "editable": True,
        "graphTooltip": 1,
        "timezone": "browser",
        "refresh": "1m",
        "time": {"from": "now-6h", "to": "now"},
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "links": [{"title": "Enricher dashboards", "type": "dashboards", "icon": "external link",
                   "tooltip": "", "tags": ["enricher"], "asDropdown": True,
                   "targetBlank": False, "includeVars": True, "keepTime": True}],
        "annotations": {"list": []},
        "templating": {"list": [datasource] + [_variable(v, rename)
                                               for v in dashboard.variables]},
        "panels": panels,
    }


def panel_queries(model: Mapping[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(panel title, refId, expr) of every target of a rendered dashboard."""
    for panel in model["panels"]:
        for target in panel.get("targets", []):
            yield panel["title"], target["refId"], target["expr"]


def variable_queries(model: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(variable name, query) of every query variable of a rendered dashboard."""
    for var in model["templating"]["list"]:
        if var["type"] == "query":
            yield var["name"], var["query"]


def substitute(expr: str, values: Mapping[str, str]) -> str:
    """``expr`` with Grafana's ``$name`` / ``${name}`` variables replaced from ``values``."""
    def one(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in values:
            raise KeyError("no value for dashboard variable $%s in %r" % (name, expr))
        return values[name]

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", one, expr)


def label_values_query(query: str) -> tuple[str, str]:
    """(selector, label) of a ``label_values(selector, label)`` variable query."""
    match = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", query.strip())
    if not match:
        raise ValueError("not a label_values() query: %r" % query)
    return match.group(1), match.group(2)


def all_names(dashboards: Sequence[Dashboard]) -> set[str]:
    """Every family and rule name the dashboards read."""
    found: set[str] = set()
    for dashboard in dashboards:
        for panel in dashboard.panels():
            for query in panel.queries:
                found |= names(query.expr)
        for var in dashboard.variables:
            found |= names(var.query)
    return found
