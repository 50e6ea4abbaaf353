"""deploy/kubernetes: every overlay renders, validates, and matches the package."""

from __future__ import annotations

import configparser
import copy
import importlib.util
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from enricher.conf import opts, prometheus
from tests import tools

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy" / "kubernetes"
OVERLAYS = ("host-libvirt", "host-libvirt-tcp", "containerised-libvirt")
KUBERNETES_VERSION = "1.30.0"
SCHEMAS = REPO / "tests" / "fixtures" / "prometheus-operator"
CRD_SCHEMAS = {"ServiceMonitor": "servicemonitors.schema.yaml",
               "PrometheusRule": "prometheusrules.schema.yaml"}
IMAGE = "localhost/enricher:latest"  # what tools/container.sh tags
ROUTES = ("/metrics", "/healthz")  # enricher/exporters/endpoints.py
CONFIG = "/etc/enricher/enricher.conf"
CONFIG_DIR = "/etc/enricher/enricher.conf.d"

_spec = importlib.util.spec_from_file_location("k8s_rules", REPO / "tools" / "k8s_rules.py")
assert _spec and _spec.loader
k8s_rules = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(k8s_rules)


def render(overlay: str) -> list[dict[str, Any]]:
    kubectl = tools.find("kubectl", "kubernetes-client")
    result = subprocess.run([kubectl, "kustomize", str(DEPLOY / "overlays" / overlay)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return render(request.param)


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind]
    assert len(found) == 1, kind
    return found[0]


def strict(schema: Any) -> Any:
    """``schema`` with unknown properties rejected, as a typo must be
    (the API server would prune the field silently)."""
    schema = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "properties" in node and "additionalProperties" not in node:
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


def crd_errors(doc: dict[str, Any]) -> list[str]:
    schema = strict(yaml.safe_load((SCHEMAS / CRD_SCHEMAS[doc["kind"]]).read_text()))
    validator = jsonschema.Draft7Validator(schema)
    return ["%s: %s" % (list(e.absolute_path), e.message) for e in validator.iter_errors(doc)]


def enricher_container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    pod = by_kind(docs, "DaemonSet")["spec"]["template"]["spec"]
    return next(c for c in pod["containers"] if c["name"] == "enricher")


def test_every_kind_validates(rendered: list[dict[str, Any]]) -> None:
    kinds = {doc["kind"] for doc in rendered}
    assert {"DaemonSet", "Service", "ServiceMonitor", "PrometheusRule", "NetworkPolicy",
            "Secret", "ConfigMap", "Namespace"} <= kinds
    for doc in rendered:
        if doc["kind"] in CRD_SCHEMAS:
            assert crd_errors(doc) == [], doc["kind"]
        else:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_validation_catches_mistakes() -> None:
    """Both validators can fail: a misspelt field in each kind of resource."""
    docs = render("host-libvirt")
    monitor = copy.deepcopy(by_kind(docs, "ServiceMonitor"))
    monitor["spec"]["endpoints"][0]["scrapeTimout"] = "10s"
    assert any("scrapeTimout" in error for error in crd_errors(monitor))
    rule = copy.deepcopy(by_kind(docs, "PrometheusRule"))
    rule["spec"]["groups"][0]["interval"] = "one minute"
    assert crd_errors(rule)
    daemonset = copy.deepcopy(by_kind(docs, "DaemonSet"))
    daemonset["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(daemonset, KUBERNETES_VERSION, strict=True)


def test_ports_and_probes_match_the_package(rendered: list[dict[str, Any]]) -> None:
    container = enricher_container(rendered)
    assert container["image"] == IMAGE
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"metrics": prometheus.DEFAULT_PORT}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    service = by_kind(rendered, "Service")
    assert [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [
        (prometheus.DEFAULT_PORT, "metrics")]
    endpoint, = by_kind(rendered, "ServiceMonitor")["spec"]["endpoints"]
    assert (endpoint["port"], endpoint["path"]) == ("metrics", "/metrics")
    assert {"/healthz", endpoint["path"]} <= set(ROUTES)
    policy = by_kind(rendered, "NetworkPolicy")
    assert policy["spec"]["ingress"][0]["ports"][0]["port"] == "metrics"


def test_selectors_select_the_pods(rendered: list[dict[str, Any]]) -> None:
    daemonset = by_kind(rendered, "DaemonSet")
    labels = daemonset["spec"]["template"]["metadata"]["labels"]
    selectors = [daemonset["spec"]["selector"]["matchLabels"],
                 by_kind(rendered, "Service")["spec"]["selector"],
                 by_kind(rendered, "NetworkPolicy")["spec"]["podSelector"]["matchLabels"]]
    for selector in selectors:
        assert selector.items() <= labels.items()
    service_labels = by_kind(rendered, "Service")["metadata"]["labels"]
    monitor = by_kind(rendered, "ServiceMonitor")["spec"]["selector"]["matchLabels"]
    assert monitor.items() <= service_labels.items()


def config_keys(text: str) -> Iterator[tuple[str, str]]:
    # [DEFAULT] as a section of its own: oslo.config does not inherit it.
    parser = configparser.ConfigParser(interpolation=None, default_section="\0")
    parser.read_string(text)
    for section in parser.sections():
        for key in parser[section]:
            yield section, key


def known_options() -> set[tuple[str, str]]:
    return {(group or "DEFAULT", opt.dest) for group, group_opts in opts.list_opts()
            for opt in group_opts}


def test_config_keys_exist_in_the_package(rendered: list[dict[str, Any]]) -> None:
    known = known_options()
    config = by_kind(rendered, "ConfigMap")["data"]["enricher.conf"]
    keys = set(config_keys(config))
    assert keys and keys <= known, keys - known
    for env in enricher_container(rendered).get("env", []):
        if env["name"].startswith("OS_"):  # oslo.config: OS_<GROUP>__<OPTION>
            group, _, name = env["name"][3:].lower().partition("__")
            assert (group, name) in known
    assert enricher_container(rendered)["args"] == [
        "--config-file=%s" % CONFIG, "--config-dir=%s" % CONFIG_DIR]
    mounts = {m["mountPath"] for m in enricher_container(rendered)["volumeMounts"]}
    assert {CONFIG, CONFIG_DIR} <= mounts


def test_tcp_overlay_builds_the_seed_design_uri() -> None:
    env = {e["name"]: e for e in enricher_container(render("host-libvirt-tcp"))["env"]}
    assert env["NODE_IP"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.hostIP"
    assert env["OS_LIBVIRT__CONNECTION_URI"]["value"] == "qemu+tcp://$(NODE_IP):16509/system"


def test_socket_overlays_share_the_libvirt_socket() -> None:
    host = by_kind(render("host-libvirt"), "DaemonSet")["spec"]["template"]["spec"]
    volume = next(v for v in host["volumes"] if "hostPath" in v)
    assert volume["hostPath"] == {"path": "/run/libvirt/libvirt-sock-ro", "type": "Socket"}
    side = by_kind(render("containerised-libvirt"), "DaemonSet")["spec"]["template"]["spec"]
    shared = {v["name"] for v in side["volumes"] if "emptyDir" in v}
    for container in side["containers"]:
        assert shared & {m["name"] for m in container["volumeMounts"]}, container["name"]


def test_prometheusrule_is_the_shipped_rules(rendered: list[dict[str, Any]]) -> None:
    committed = (DEPLOY / "base" / "prometheusrule.yaml").read_text()
    assert committed == k8s_rules.render(k8s_rules.rule_files()), \
        "stale: run tools/k8s_rules.py"
    groups = by_kind(rendered, "PrometheusRule")["spec"]["groups"]
    shipped = [g for path in k8s_rules.rule_files()
               for g in yaml.safe_load(path.read_text())["groups"]]
    assert groups == shipped and shipped
