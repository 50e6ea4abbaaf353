"""A real Prometheus scrapes the enricher over mTLS with basic auth; node_exporter
accepts the very same web config file.

The enricher runs on the libvirt test driver (no guests needed). Prometheus
has one job per case: the right client certificate and password (up), a
wrong password (401), no client certificate (refused at the handshake) and
plain HTTP to the TLS port (fails cleanly), plus Debian's
prometheus-node-exporter started with ``--web.config.file`` on the same file
and scraped with the same TLS and basic-auth settings.
"""

from __future__ import annotations

import base64
import contextlib
import pathlib
import subprocess
from collections.abc import Iterator
from typing import Any

from tests import tools
from tests.e2e.harness import procs
from tests.e2e.harness.prometheus import launch_prometheus
from tests.exposition import parse
from tests.functional import enricher_process
from tests.tlscerts import PASSWORD, USER, Pki

# Settings beyond the essentials, to show the format is node_exporter's.
EXTRA_TLS = """  min_version: TLS12
  max_version: TLS13
  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]
  curve_preferences: [X25519, CurveP256]
  prefer_server_cipher_suites: true
"""
HEADERS = """http_server_config:
  http2: true
  headers:
    X-Content-Type-Options: nosniff
    X-Frame-Options: deny
"""


def job(name: str, target: str, pki: Pki, scheme: str = "https", cert: bool = True,
        password: str = PASSWORD) -> str:
    tls = f"    tls_config:\n      ca_file: {pki.ca.ca_file}\n"
    if cert:
        tls += f"      cert_file: {pki.client.cert}\n      key_file: {pki.client.key}\n"
    return (f"  - job_name: {name}\n    scheme: {scheme}\n"
            f"    static_configs:\n      - targets: ['{target}']\n"
            + (tls if scheme == "https" else "")
            + f"    basic_auth:\n      username: {USER}\n      password: {password}\n")


@contextlib.contextmanager
def node_exporter(workdir: pathlib.Path, web: pathlib.Path) -> Iterator[str]:
    """Debian's node_exporter serving with ``--web.config.file``; yields host:port."""
    binary = tools.find("prometheus-node-exporter", "prometheus-node-exporter")
    port = procs.free_port()
    log = workdir / "node-exporter.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [binary, f"--web.listen-address=127.0.0.1:{port}", f"--web.config.file={web}",
             "--collector.disable-defaults", "--collector.loadavg"],
            stdout=out, stderr=subprocess.STDOUT)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        procs.stop_process(proc)
        text = log.read_text(errors="replace")
        assert "TLS is enabled" in text, text  # it parsed the file and serves TLS


def targets(server: Any) -> dict[str, dict[str, Any]]:
    return {t["labels"]["job"]: t for t in server.api("targets")["activeTargets"]}


def test_prometheus_scrapes_with_mtls_and_basic_auth(tmp_path: pathlib.Path) -> None:
    tools.find("prometheus", "prometheus")
    pki = Pki(tmp_path)
    pki.write(extra_tls=EXTRA_TLS, extra=HEADERS)
    client = pki.client_context(pki.client)
    with enricher_process.running(tmp_path, f"web_config_file = {pki.web}\n",
                                  https=client, ready="/healthz") as target, \
            node_exporter(tmp_path, pki.web) as node:
        me = f"127.0.0.1:{target.port}"
        jobs = (job("good", me, pki) + job("wrong_password", me, pki, password="wrong")
                + job("no_client_cert", me, pki, cert=False)
                + job("plain_http", me, pki, scheme="http") + job("node", node, pki))
        with launch_prometheus(tmp_path / "prometheus", me, scrape_configs=jobs) as server:
            server.wait_for('up{job="good"} == 1')
            server.wait_for('up{job="node"} == 1')
            server.wait_for('libvirt_up{job="good"} == 1')
            server.wait_for('count(up{job=~"wrong_password|no_client_cert|plain_http"} == 0)'
                            ' == 3')
            found = targets(server)
        status, body = target.get("/metrics")
        token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        own = parse(target.get("/metrics", headers={"Authorization": "Basic " + token}
                               )[1].decode())
    counted = {s.labels["reason"]: s.value
               for s in own["enricher_http_tls_handshake_errors_total"]}
    assert counted["plain_http"] > 0 and counted["no_client_certificate"] > 0, counted
    assert own["enricher_http_auth_failures_total"][0].value > 0
    assert status == 401  # our own client, with a certificate but no password
    errors = {name: found[name]["lastError"] for name in found}
    assert found["good"]["health"] == "up" and found["node"]["health"] == "up", errors
    assert "401 Unauthorized" in errors["wrong_password"], errors
    # Refused at the handshake: the connection is closed before any HTTP answer
    # (Go's client, under TLS 1.3, reports it as EOF on its first read).
    for name in ("no_client_cert", "plain_http"):
        assert errors[name] and "HTTP status" not in errors[name], errors
    scraped = {line.split("{")[0] for line in body.decode().splitlines()}
    assert scraped <= {"401 Unauthorized"}
