"""schemathesis against the served OpenAPI document: no 5xx, no response breaking the schema.

The service runs on the demo node with events on, so every endpoint has
data. Streams never end by themselves, so generated cases that ask for
``stream=true`` are sent with ``stream=false`` (the stream is tested in
test_api.py).
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from enricher.cmd.enricher import Service
from enricher.exporters import rest_openapi
from tests import fixtures
from tests.functional.conftest import make_conf

DEMO = pathlib.Path(__file__).resolve().parents[2] / "enricher" / "demo" / "demo-node.xml"
schema = schemathesis.openapi.from_dict(rest_openapi.document())
CHECKS = [checks.not_a_server_error, checks.response_schema_conformance,
          checks.status_code_conformance, checks.content_type_conformance]


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    svc = Service(make_conf(fixtures.test_node_uri(DEMO), interval=1))
    svc.start()
    svc.sampler.latest()
    yield "http://127.0.0.1:%d" % svc.server.port
    svc.stop()


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_conforms_to_its_openapi_document(case, base_url: str) -> None:
    if case.query and str(case.query.get("stream")).lower() in ("true", "1"):
        case.query["stream"] = "false"
    case.call_and_validate(base_url=base_url, checks=CHECKS, timeout=10)
