"""The shipped Grafana dashboards: generated, valid, provisionable, reading real families."""

from __future__ import annotations

import copy
import json
import pathlib
import re
from typing import Any

import jsonschema
import pytest
import yaml

from enricher.exporters import catalog, grafana
from enricher.exporters.grafana import model
from enricher.exporters.grafana.dashboards import DASHBOARDS, INSTANCE_DASHBOARD

ROOT = pathlib.Path(__file__).resolve().parents[2]
DASHBOARD_DIR = ROOT / "etc" / "grafana" / "dashboards"
QUERY_TABLE = ROOT / "doc" / "source" / "dashboard-queries.inc"
SCHEMA = ROOT / "tests" / "fixtures" / "grafana" / "dashboard.schema.json"
RECORDING = ROOT / "etc" / "enricher" / "recording-rules.yml"
BUILTIN_VARIABLES = {"__rate_interval", "__range", "__interval"}
MODELS = grafana.rendered()


def validator() -> jsonschema.Draft7Validator:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def schema_errors(data: Any) -> list[str]:
    return ["%s: %s" % ("/".join(map(str, e.absolute_path)), e.message)
            for e in validator().iter_errors(data)]


def test_committed_dashboards_are_the_generated_ones() -> None:
    """``python -m enricher.exporters.grafana`` regenerates them; nothing else is there."""
    on_disk = {p.name for p in DASHBOARD_DIR.glob("*.json")}
    assert on_disk == set(MODELS)
    for name, data in MODELS.items():
        assert (DASHBOARD_DIR / name).read_text() == grafana.dump(data), \
            "%s is stale: run python -m enricher.exporters.grafana" % name
    assert QUERY_TABLE.read_text() == grafana.query_table(MODELS), \
        "the docs' query table is stale: run python -m enricher.exporters.grafana"


@pytest.mark.parametrize("name", sorted(MODELS))
def test_dashboard_passes_the_grafana_schema(name: str) -> None:
    data = json.loads((DASHBOARD_DIR / name).read_text())
    assert schema_errors(data) == []


@pytest.mark.parametrize("breakage", ["unknown panel key", "too wide", "no refId",
                                      "row as panel", "variable query list"])
def test_the_schema_rejects_broken_dashboards(breakage: str) -> None:
    """The check can fail: each planted mistake is reported."""
    data = copy.deepcopy(MODELS["enricher-instance.json"])
    panel = data["panels"][1]
    if breakage == "unknown panel key":
        panel["legendFormat"] = "{{device}}"  # belongs in a target
    elif breakage == "too wide":
        panel["gridPos"]["w"] = 25
    elif breakage == "no refId":
        del panel["targets"][0]["refId"]
    elif breakage == "row as panel":
        data["panels"][0]["targets"] = []
    else:
        data["templating"]["list"][1]["query"] = ["label_values(up, job)"]
    assert schema_errors(data), breakage


@pytest.mark.parametrize("name", sorted(MODELS))
def test_dashboard_is_provisionable(name: str) -> None:
    """A uid, a title, a datasource variable every query uses, no installation's uid."""
    data = MODELS[name]
    assert re.fullmatch(r"[a-z0-9-]{8,40}", data["uid"]), data["uid"]
    assert data["title"].startswith("Enricher / ")
    variables = {v["name"]: v for v in data["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    refs = [panel["datasource"] for panel in data["panels"] if "datasource" in panel]
    refs += [t["datasource"] for panel in data["panels"] for t in panel.get("targets", [])]
    refs += [v["datasource"] for v in variables.values() if "datasource" in v]
    assert refs and all(ref == model.DATASOURCE for ref in refs), refs
    ids = [panel["id"] for panel in data["panels"]]
    assert len(ids) == len(set(ids))
    used = set()
    for _title, _ref, expr in model.panel_queries(data):
        used |= set(re.findall(r"\$\{?(\w+)", expr))
    for _name, query in model.variable_queries(data):
        used |= set(re.findall(r"\$\{?(\w+)", query))
    assert used - BUILTIN_VARIABLES <= set(variables), used
    assert "project" in variables or "node" in variables


def test_uids_and_titles_are_unique() -> None:
    assert len({m["uid"] for m in MODELS.values()}) == len(MODELS)
    assert len({m["title"] for m in MODELS.values()}) == len(MODELS)


def test_each_dashboard_declares_profiles_that_exist() -> None:
    for dashboard in DASHBOARDS:
        assert dashboard.profiles and set(dashboard.profiles) <= set(grafana.PROFILES)
        assert grafana.DEFAULT_PROFILE in dashboard.profiles


def _recording_rules() -> set[str]:
    groups = yaml.safe_load(RECORDING.read_text())["groups"]
    return {rule["record"] for group in groups for rule in group["rules"]}


def _known(name: str) -> bool:
    for suffix in ("", "_sum", "_count"):
        base = name[: -len(suffix)] if suffix and name.endswith(suffix) else name
        family = catalog.BY_NAME.get(base)
        if family and (not suffix or family.type == catalog.SUMMARY):
            return True
    return False


def test_every_name_is_a_catalog_family_or_a_shipped_rule() -> None:
    """No typo survives: each name a query reads is exported or recorded."""
    rules = _recording_rules()
    unknown = {n for n in model.all_names(DASHBOARDS) if not _known(n) and n not in rules}
    assert unknown == set()


def test_the_instance_dashboard_shows_every_core_family() -> None:
    core = {f.name for f in catalog.of(catalog.CORE) if f.per_vm or f.name.endswith("_info")}
    shown = model.all_names([INSTANCE_DASHBOARD])
    assert core - shown == set()


def test_rename_maps_family_names_only() -> None:
    expr = 'sum by (project_name) (rate(libvirt_domain_cpu_time_seconds_total{job="enricher",' \
           'project_name=~"$project"}[5m])) / project:libvirt_domain_info_vcpus:sum'
    renamed = model.rename_expr(expr, lambda n: n.upper())
    assert renamed == expr.replace("libvirt_domain_cpu_time_seconds_total",
                                   "LIBVIRT_DOMAIN_CPU_TIME_SECONDS_TOTAL").replace(
        "project:libvirt_domain_info_vcpus:sum", "PROJECT:LIBVIRT_DOMAIN_INFO_VCPUS:SUM")


def test_substitute_replaces_every_variable_or_fails() -> None:
    expr = 'x{project_name=~"$project", uuid="${instance}"}[$__rate_interval]'
    assert model.substitute(expr, {"project": "a|b", "instance": "u1",
                                   "__rate_interval": "1m"}) == \
        'x{project_name=~"a|b", uuid="u1"}[1m]'
    with pytest.raises(KeyError, match="instance"):
        model.substitute(expr, {"project": "a", "__rate_interval": "1m"})


def test_query_table_lists_every_panel_query() -> None:
    table = QUERY_TABLE.read_text()
    for data in MODELS.values():
        for title, ref, expr in model.panel_queries(data):
            assert "   * - %s (%s)\n     - ``%s``\n" % (title, ref, expr) in table


def test_setup_installs_the_dashboards_and_rules() -> None:
    """pbr's data_files (``dir/*`` installs a directory) cover every shipped file."""
    import configparser
    import glob

    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    lines = [line.strip() for line in setup["files"]["data_files"].splitlines()]
    sources = {word for line in lines for word in line.split("=")[-1].split()}
    installed = {pathlib.Path(p) for pattern in sources for p in glob.glob(str(ROOT / pattern))}
    for path in [*DASHBOARD_DIR.glob("*.json"), RECORDING, RECORDING.with_name(
            "alerting-rules.yml"), *(ROOT / "etc" / "grafana" / "provisioning").glob("*")]:
        assert {path, *path.parents} & installed, path


def test_profile_variants_read_only_what_the_profile_exports() -> None:
    """The inovex drill-down reads inovex names (or untouched self/event families)."""
    from enricher.exporters import profiles

    for name, (dashboard, served) in grafana.variants().items():
        for profile_name in served:
            profile = profiles.get(profile_name)
            if profile.families is None:
                continue
            exported = {entry.name for entry in profile.families}
            untouched = {f.name for f in catalog.FAMILIES
                         if f.source in (catalog.SELF, catalog.EVENTS, catalog.NOVA)}
            read = model.all_names([dashboard]) - _recording_rules()
            assert {_base(n) for n in read} - exported - untouched - {"libvirt_up"} == set(), \
                (name, profile_name)
    inovex = grafana.variants()["enricher-instance-inovex.json"][0]
    assert all("uuid=" not in q.expr for p in inovex.panels() for q in p.queries)


def _base(name: str) -> str:
    for suffix in ("_sum", "_count"):
        if name.endswith(suffix) and name[: -len(suffix)] in catalog.BY_NAME:
            return name[: -len(suffix)]
    return name
