"""The built-in demo node the README's first command serves."""

from __future__ import annotations

import pathlib

from tests import fixtures
from tests.functional.conftest import parse, scrape_text

DEMO = pathlib.Path(__file__).resolve().parents[2] / "enricher" / "demo" / "demo-node.xml"


def test_demo_node_serves_tenant_labelled_metrics(service_factory) -> None:
    svc = service_factory(fixtures.test_node_uri(DEMO))
    samples = parse(scrape_text(svc))
    states = {s.labels["domain"]: s.labels for s in samples["libvirt_domain_info_state"]}
    assert len(states) == 6
    assert states["instance-00000101"]["project_name"] == "webshop"
    assert states["instance-00000103"]["flavor"] == "m1.large"
    assert states["instance-00000105"]["user_name"] == ""  # Nova wrote N/A
    assert states["build-box"]["project_id"] == ""
    assert samples["libvirt_up"][0].value == 1
