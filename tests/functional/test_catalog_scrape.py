"""Every family a real scrape yields is in the metric catalog, with its type, labels, help.

One enricher on the libvirt test driver with every extra_stats selector,
domain events with a webhook, the Nova fallback against the simulator, and a
web config (headers only, so that the scrape stays plain HTTP).
"""

from __future__ import annotations

import http.server
import pathlib
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.parser import text_string_to_metric_families

from enricher.exporters import catalog, prometheus
from enricher.extra import catalog as selectors
from tests import fixtures
from tests.functional.conftest import scrape_text
from tests.simulators.keystone_nova import KeystoneNovaSimulator, ServerRecord

HOST = "compute-test"
PASSWORD = "catalog-test-password"
RUNNING = "e22c05ef-5d01-420e-8189-a451e4f10d3e"  # instance-0000000a, complete metadata
UBUNTU = "a7878093-579a-4b79-89df-5f9698a118db"  # no metadata: Nova fills it
TENANT_LABELS = ["project_name", "flavor", "instance_name"]

# openstacksdk warns about its own internal call on every proxy request.
pytestmark = pytest.mark.filterwarnings("ignore::openstack.warnings.RemovedInSDK50Warning")


class _Hook(http.server.BaseHTTPRequestHandler):
    """A webhook receiver that accepts everything."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def webhook_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d/events" % server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def nova_conf(tmp_path: pathlib.Path) -> Iterator[str]:
    sim = KeystoneNovaSimulator(password=PASSWORD).start()
    sim.add_server(ServerRecord(id=UBUNTU, name="ubuntu-vm", tenant_id="1" * 32,
                                user_id="2" * 32, host=HOST, instance_name="ubuntu22.04",
                                flavor_id="11", flavor_name="m2.ubuntu"))
    path = tmp_path / "nova.conf"
    path.write_text("\n".join([
        "[service_credentials]", "auth_type = password", f"auth_url = {sim.auth_url}",
        f"username = {sim.username}", f"password = {PASSWORD}", "project_name = service",
        "user_domain_name = Default", "project_domain_name = Default",
        "[nova]", f"host = {HOST}", "timeout = 1", "refresh_min_interval = 0"]) + "\n")
    yield str(path)
    sim.stop()


@pytest.fixture
def label_mismatches(monkeypatch) -> list[str]:
    """Families given more or fewer label values than label names (prometheus_client
    silently zips them), recorded while the test runs."""
    found: list[str] = []
    for cls in (GaugeMetricFamily, CounterMetricFamily):
        def add_metric(self, labels, value, *args, _original=cls.add_metric, **kwargs):
            if len(labels) != len(self._labelnames):
                found.append("%s: %r for %r" % (self.name, labels, self._labelnames))
            _original(self, labels, value, *args, **kwargs)
        monkeypatch.setattr(cls, "add_metric", add_metric)
    return found


def webhook_port(url: str) -> int:
    """A UDP port nobody listens on: the webhook's TCP port number."""
    return int(url.rsplit(":", 1)[1].split("/")[0])


def _wait_for(probe: Callable[[], object], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        assert time.monotonic() < deadline, "timed out waiting for %s" % what
        time.sleep(0.05)


def _scraped_families(text: str) -> dict[str, tuple[str, str, set[str], int]]:
    """Exported name -> (type, help, label names, samples) as a scraper parses them."""
    families = {}
    for family in text_string_to_metric_families(text):
        name = family.name + ("_total" if family.type == "counter" else "")
        labels = {label for sample in family.samples for label in sample.labels}
        families[name] = (family.type, family.documentation, labels, len(family.samples))
    return families


def test_a_full_scrape_matches_the_catalog(service_factory, node_file, nova_conf,
                                           webhook_url, label_mismatches, tmp_path) -> None:
    web = tmp_path / "web.yml"
    web.write_text("http_server_config:\n  headers:\n    X-Frame-Options: deny\n")
    svc = service_factory(
        fixtures.test_node_uri(node_file), [nova_conf], extra_stats=list(selectors.NAMES),
        libvirt__read_only=False, events__enabled=True, events__stop_delay=0.0,
        events__webhook_url=webhook_url, prometheus__tenant_labels=TENANT_LABELS,
        prometheus__device_info=True, prometheus__web_config_file=str(web),
        statsd__enabled=True, statsd__port=webhook_port(webhook_url), statsd__interval=1.0)
    dom = svc.connection.get().lookupByUUIDString(RUNNING)
    dom.suspend()
    dom.resume()
    _wait_for(lambda: svc.events.webhook.sent == 2, "the events to reach the webhook")
    _wait_for(lambda: 'flavor="m2.ubuntu"' in scrape_text(svc), "Nova's tenancy")
    _wait_for(lambda: svc.statsd.stats.lines, "a StatsD send")
    scraped = _scraped_families(scrape_text(svc))

    assert not label_mismatches
    assert set(scraped) <= set(catalog.BY_NAME), "families missing from the catalog"
    for name, (type_, documentation, labels, samples) in scraped.items():
        entry = catalog.get(name)
        assert type_ == entry.type, name
        wanted = (prometheus.interval_help(svc.conf.interval)
                  if name == "enricher_collection_interval_seconds" else entry.help)
        assert documentation == wanted, name
        if samples and entry.type != catalog.SUMMARY:
            assert labels == set(entry.label_names(TENANT_LABELS)), name
    # Every source took part, and the catalog is not checked against a trivial scrape.
    assert {catalog.get(name).source for name in scraped} == set(catalog.SOURCES)
    assert len(scraped) >= 35, sorted(scraped)
    assert {"enricher_statsd_datagrams_total", "enricher_statsd_lines_total"} <= set(scraped)
    assert "enricher_http_tls_handshake_errors_total" in scraped
