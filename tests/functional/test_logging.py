"""oslo.log in the real process: JSON lines, log files reopened on SIGHUP, no secrets.

The enricher runs as a subprocess (``enricher_process.running``) so that its
logging is set up exactly as in production, by ``enricher.cmd.enricher.main``.
"""

from __future__ import annotations

import base64
import json
import pathlib
import signal
import ssl
import time
from collections.abc import Callable

from tests import fixtures
from tests.functional import enricher_process
from tests.simulators.keystone_nova import KeystoneNovaSimulator, ServerRecord
from tests.tlscerts import Authority, bcrypt_hash

NOVA_PASSWORD = "Nova-Service-Pa55-7f3a"  # [service_credentials] password
SCRAPE_PASSWORD = "Scrape-Pa55-9c1e"  # basic auth, right
WRONG_PASSWORD = "Wrong-Pa55-2b8d"  # basic auth, wrong
UBUNTU = "a7878093-579a-4b79-89df-5f9698a118db"  # a test-node domain without metadata


def wait_for(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in %.0f s" % timeout
        time.sleep(0.1)


def test_use_json_gives_one_object_per_line(tmp_path: pathlib.Path) -> None:
    log = tmp_path / "enricher.log"
    extra = f"[DEFAULT]\nlog_file = {log}\nuse_json = true\ndebug = true\n"
    with enricher_process.running(tmp_path, extra) as target:
        assert target.get()[0] == 200
        wait_for(lambda: log.exists() and "Serving metrics" in log.read_text())
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(records) > 10
    assert {"message", "levelname", "name"} <= set(records[0])
    assert any(r["levelname"] == "DEBUG" for r in records)


def test_sighup_reopens_the_log_file_and_keeps_state(tmp_path: pathlib.Path) -> None:
    log = tmp_path / "enricher.log"
    web = tmp_path / "web.yml"
    web.write_text(f"basic_auth_users:\n  prom: '{bcrypt_hash(SCRAPE_PASSWORD)}'\n")
    extra = f"web_config_file = {web}\n[DEFAULT]\nlog_file = {log}\n"
    with enricher_process.running(tmp_path, extra, ready="/healthz") as target:
        good = {"Authorization": "Basic " + base64.b64encode(
            f"prom:{SCRAPE_PASSWORD}".encode()).decode()}
        assert target.get(headers=good)[0] == 200
        for _ in range(3):
            assert target.get()[0] == 401
        wait_for(lambda: "Serving metrics" in log.read_text())
        # logrotate without copytruncate: move the file, then SIGHUP.
        rotated = log.rename(tmp_path / "enricher.log.1")
        target.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: log.exists() and "log files reopened" in log.read_text())
        assert "log files reopened" not in rotated.read_text()
        assert "Web config" in log.read_text()  # the web config was re-read too
        # Same process, same counters: nothing was restarted.
        status, body = target.get(headers=good)
        assert status == 200 and target.proc.poll() is None
        assert "enricher_http_auth_failures_total 3.0" in body.decode()


def test_secrets_never_in_the_debug_log(tmp_path: pathlib.Path) -> None:
    """[service_credentials] password, bcrypt hashes and basic-auth passwords, right or
    wrong, appear nowhere in a debug log, /metrics or an error, with TLS on."""
    ca = Authority(tmp_path)
    ca.issue("server", "enricher.test")
    scrape_hash = bcrypt_hash(SCRAPE_PASSWORD)
    web = tmp_path / "web.yml"
    web.write_text("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
                   f"basic_auth_users:\n  prom: '{scrape_hash}'\n")
    log = tmp_path / "enricher.log"
    with KeystoneNovaSimulator(password=NOVA_PASSWORD) as sim:
        sim.add_server(ServerRecord(
            id=UBUNTU, name="ubuntu-vm", tenant_id="1" * 32, user_id="2" * 32,
            host="compute-test", instance_name="ubuntu22.04", flavor_id="11",
            flavor_name="m2.ubuntu", vcpus=2, ram=4096, disk=40))
        extra = (f"web_config_file = {web}\n"
                 f"[DEFAULT]\ndebug = true\nlog_file = {log}\n"
                 "[service_credentials]\nauth_type = password\n"
                 f"auth_url = {sim.auth_url}\nusername = {sim.username}\n"
                 f"password = {NOVA_PASSWORD}\nproject_name = service\n"
                 "user_domain_name = Default\nproject_domain_name = Default\n"
                 "[nova]\nhost = compute-test\ntimeout = 2\n")
        client = ssl.create_default_context(cafile=str(ca.ca_file))
        with enricher_process.running(tmp_path, extra, uri=fixtures.test_node_uri(),
                                      https=client, ready="/healthz") as target:
            bodies = []
            for password in (SCRAPE_PASSWORD, WRONG_PASSWORD):
                token = base64.b64encode(f"prom:{password}".encode()).decode()
                status, body = target.get(headers={"Authorization": "Basic " + token})
                bodies.append(body)
            assert status == 401
            # Nova answered (so Keystone saw the password) before we look.
            wait_for(lambda: sim.count("servers") > 0)
            wait_for(lambda: f'instance_uuid="{UBUNTU}"' in target.get(
                headers={"Authorization": "Basic " + base64.b64encode(
                    f"prom:{SCRAPE_PASSWORD}".encode()).decode()})[1].decode()
                     or False, timeout=30)
        text = log.read_text() + target.log_text()
    # The options were logged at DEBUG, the secret one masked.
    assert "service_credentials.password   = ****" in text
    secrets = (NOVA_PASSWORD, SCRAPE_PASSWORD, WRONG_PASSWORD, scrape_hash,
               scrape_hash.split("$")[-1],
               base64.b64encode(f"prom:{SCRAPE_PASSWORD}".encode()).decode(),
               base64.b64encode(f"prom:{WRONG_PASSWORD}".encode()).decode())
    for secret in secrets:
        assert secret not in text
        for body in bodies:
            assert secret.encode() not in body
