"""The exposition over the built-in demo node, byte for byte against golden files.

Dashboards read these bytes: names, HELP texts, label names and their order,
label values and number formatting. A change here must be intended; then
rewrite the files with ``ENRICHER_REGENERATE_GOLDEN=1`` (see tests/golden.py)
and commit the diff with the change.
"""

from __future__ import annotations

import gzip
import pathlib
import urllib.request

import pytest

from enricher.extra import catalog
from tests import fixtures, golden
from tests.functional.conftest import scrape_text

DEMO = pathlib.Path(__file__).resolve().parents[2] / "enricher" / "demo" / "demo-node.xml"
# Self-metrics whose values are clock readings or durations.
TIME_VARYING = (
    "enricher_collection_duration_seconds",
    "enricher_collection_timestamp_seconds",
    "enricher_extra_duration_seconds",
    "enricher_scrape_duration_seconds",
)
CONFIGS = {
    "demo-node.prom": {},
    "demo-node-extra.prom": {"extra_stats": list(catalog.NAMES)},
}


def _gzip_scrape(port: int) -> str:
    req = urllib.request.Request("http://127.0.0.1:%d/metrics" % port,
                                 headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.headers["Content-Encoding"] == "gzip"
        return gzip.decompress(resp.read()).decode("utf-8")


@pytest.mark.parametrize("golden_file", sorted(CONFIGS))
def test_demo_node_exposition_matches_golden(service_factory, golden_file: str) -> None:
    # The default background sampler: both scrapes serve the one first snapshot.
    svc = service_factory(fixtures.test_node_uri(DEMO), interval=15,
                          **CONFIGS[golden_file])
    plain = golden.canonical(scrape_text(svc), TIME_VARYING)
    assert golden.canonical(_gzip_scrape(svc.server.port), TIME_VARYING) == plain
    golden.check(golden_file, plain)

