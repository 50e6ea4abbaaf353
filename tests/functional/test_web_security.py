"""TLS, client certificates, basic auth and headers from a web config, in-process.

The real service on the libvirt test driver, real TLS (certificates made at
test time) and real HTTP clients (http.client over ssl).
"""

from __future__ import annotations

import base64
import http.client
import os
import pathlib
import socket
import ssl
import time
from collections.abc import Callable

import pytest
from oslo_config import cfg

from enricher.cmd.enricher import Service
from tests.functional.conftest import make_conf, parse
from tests.tlscerts import PASSWORD, USER, Authority, Pki

DEMO_NODE = pathlib.Path(__file__).resolve().parents[2] / "enricher" / "demo" / "demo-node.xml"
DEMO_URI = "test://%s" % DEMO_NODE


@pytest.fixture
def pki(tmp_path: pathlib.Path) -> Pki:
    return Pki(tmp_path)


def subdir(pki: Pki, name: str) -> pathlib.Path:
    path = pki.directory / name
    path.mkdir()
    return path


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def https(port: int, context: ssl.SSLContext, path: str = "/metrics",
          headers: dict[str, str] | None = None
          ) -> tuple[int, dict[str, str], bytes, bytes]:
    """(status, headers, body, server certificate DER) of one request on a new connection."""
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=context)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        der = conn.sock.getpeercert(binary_form=True) or b""
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read(), der
    finally:
        conn.close()


def start(service_factory: Callable[..., Service], pki: Pki, **overrides: object) -> Service:
    return service_factory(DEMO_URI, prometheus__web_config_file=str(pki.web), **overrides)


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in %.0f s" % timeout)
        time.sleep(0.1)


def test_mtls_and_basic_auth(service_factory, pki: Pki) -> None:
    pki.write()
    svc = start(service_factory, pki)
    port, good = svc.server.port, pki.client_context(pki.client)
    status, _h, body, _der = https(port, good, headers=basic(USER, PASSWORD))
    assert status == 200
    samples = parse(body.decode())
    assert samples["libvirt_up"][0].value == 1
    assert samples["enricher_http_tls_handshake_errors_total"]
    # Wrong password, unknown user, no credentials, another scheme: 401 with a challenge.
    for headers in (basic(USER, "wrong"), basic("mallory", PASSWORD), {},
                    {"Authorization": "Bearer " + PASSWORD}):
        status, hdrs, _b, _der = https(port, good, headers=headers)
        assert status == 401, headers
        assert hdrs["www-authenticate"] == "Basic"
    # Every route but /healthz asks, the unknown ones too (no route enumeration).
    for path in ("/", "/metrics", "/nowhere"):
        assert https(port, good, path)[0] == 401
    assert https(port, good, "/healthz")[0] == 200
    assert https(port, good, "/nowhere", basic(USER, PASSWORD))[0] == 404
    assert svc.guard is not None and svc.guard.auth_failures == 7


def test_no_client_certificate_is_refused_and_counted(service_factory, pki: Pki) -> None:
    pki.write()
    svc = start(service_factory, pki)
    with pytest.raises((ssl.SSLError, ConnectionError, http.client.HTTPException)):
        https(svc.server.port, pki.client_context(None), headers=basic(USER, PASSWORD))
    # A certificate from another CA does not verify.
    stranger = Authority(subdir(pki, "other"), name="stranger CA")
    rogue = stranger.issue("rogue", "rogue", client=True)
    with pytest.raises((ssl.SSLError, ConnectionError, http.client.HTTPException)):
        https(svc.server.port, pki.client_context(rogue), headers=basic(USER, PASSWORD))
    assert svc.guard is not None
    wait_for(lambda: svc.guard.handshake_errors["no_client_certificate"] == 1
             and svc.guard.handshake_errors["bad_client_certificate"] == 1)
    # The server is still there for a good client.
    status = https(svc.server.port, pki.client_context(pki.client),
                   headers=basic(USER, PASSWORD))[0]
    assert status == 200


def test_plain_http_to_the_tls_port_fails_cleanly(service_factory, pki: Pki) -> None:
    pki.write(auth="NoClientCert")
    svc = start(service_factory, pki)
    conn = http.client.HTTPConnection("127.0.0.1", svc.server.port, timeout=5)
    with pytest.raises((ConnectionError, http.client.HTTPException)):
        conn.request("GET", "/metrics")
        conn.getresponse()
    conn.close()
    assert svc.guard is not None
    wait_for(lambda: svc.guard.handshake_errors["plain_http"] == 1)
    assert https(svc.server.port, pki.client_context(), "/healthz")[0] == 200


def test_a_silent_client_is_dropped_at_the_handshake_timeout(service_factory, pki: Pki
                                                             ) -> None:
    pki.write(auth="NoClientCert")
    svc = start(service_factory, pki, prometheus__idle_timeout=1.0)
    with socket.create_connection(("127.0.0.1", svc.server.port), timeout=5) as sock:
        started = time.monotonic()
        assert sock.recv(1) == b""  # closed by the server, not by our timeout
        assert time.monotonic() - started < 4
    assert svc.guard is not None
    wait_for(lambda: svc.guard.handshake_errors["timeout"] == 1)


def test_san_not_in_client_allowed_sans_is_refused(service_factory, pki: Pki) -> None:
    pki.write(extra_tls="  client_allowed_sans: [other.test]\n")
    svc = start(service_factory, pki)
    with pytest.raises((ssl.SSLError, ConnectionError, http.client.HTTPException)):
        https(svc.server.port, pki.client_context(pki.client), headers=basic(USER, PASSWORD))
    assert svc.guard is not None
    wait_for(lambda: svc.guard.handshake_errors["client_san_not_allowed"] == 1)


def test_allowed_san_is_served(service_factory, pki: Pki) -> None:
    pki.write(extra_tls="  client_allowed_sans: [prometheus.test]\n")
    svc = start(service_factory, pki)
    status = https(svc.server.port, pki.client_context(pki.client),
                   headers=basic(USER, PASSWORD))[0]
    assert status == 200


def test_response_headers_on_every_answer(service_factory, pki: Pki) -> None:
    pki.write(auth="NoClientCert", extra="http_server_config:\n  headers:\n"
              "    X-Frame-Options: deny\n    Strict-Transport-Security: max-age=60\n")
    svc = start(service_factory, pki)
    for path, auth, status in (("/metrics", basic(USER, PASSWORD), 200),
                               ("/metrics", {}, 401), ("/healthz", {}, 200)):
        got, headers, _b, _der = https(svc.server.port, pki.client_context(), path, auth)
        assert got == status
        assert headers["x-frame-options"] == "deny"
        assert headers["strict-transport-security"] == "max-age=60"


def test_bcrypt_runs_once_per_credential(service_factory, pki: Pki) -> None:
    pki.write(auth="NoClientCert")
    svc = start(service_factory, pki)
    context = pki.client_context()
    for _ in range(5):
        assert https(svc.server.port, context, headers=basic(USER, PASSWORD))[0] == 200
        assert https(svc.server.port, context, headers=basic(USER, "nope"))[0] == 401
    assert svc.guard is not None
    auth = svc.guard.state().auth
    assert auth is not None and auth.bcrypt_checks == 2


def replace(path: pathlib.Path, source: pathlib.Path) -> None:
    """Rotate as certbot or cert-manager do: a new file renamed over the old."""
    tmp = path.with_suffix(".new")
    tmp.write_bytes(source.read_bytes())
    os.replace(tmp, path)


def test_certificate_rotation_without_restart(service_factory, pki: Pki) -> None:
    pki.write(auth="NoClientCert", users=False)
    svc = start(service_factory, pki)
    first = https(svc.server.port, pki.client_context(), "/healthz")[3]
    # A new CA and a new server certificate, under the same file names.
    newer = Authority(subdir(pki, "new"), name="rotated CA")
    rotated = newer.issue("server", "enricher.test")
    replace(pki.server.cert, rotated.cert)
    replace(pki.server.key, rotated.key)
    deadline = time.monotonic() + 10
    while True:
        try:
            der = https(svc.server.port, pki.client_context(ca=newer.ca_file), "/healthz")[3]
            break
        except ssl.SSLCertVerificationError:
            assert time.monotonic() < deadline, "the rotated certificate never appeared"
            time.sleep(0.2)
    assert der != first
    assert ssl.DER_cert_to_PEM_cert(der).strip() == rotated.cert.read_text().strip()
    assert svc.guard is not None and svc.guard.reloads["success"] == 1


def test_web_config_change_applies_and_a_bad_one_is_kept_out(service_factory, pki: Pki
                                                              ) -> None:
    pki.write(auth="NoClientCert")
    svc = start(service_factory, pki)
    context, port = pki.client_context(), svc.server.port
    assert https(port, context, headers=basic(USER, PASSWORD))[0] == 200
    pki.write(auth="NoClientCert", password="changed-Password")
    wait_for(lambda: https(port, context, headers=basic(USER, "changed-Password"))[0] == 200)
    assert https(port, context, headers=basic(USER, PASSWORD))[0] == 401
    pki.web.write_text("tls_server_config:\n  cert_file: server.crt\n  bogus: 1\n")
    assert svc.guard is not None
    # The file is checked when a connection comes, at most once a second.
    wait_for(lambda: https(port, context, "/healthz")[0] == 200
             and not svc.guard.last_reload_ok)
    # The previous configuration is still in force.
    assert https(port, context, headers=basic(USER, "changed-Password"))[0] == 200
    text = https(port, context, headers=basic(USER, "changed-Password"))[2].decode()
    samples = parse(text)
    assert samples["enricher_web_config_last_reload_successful"][0].value == 0
    failures = [s for s in samples["enricher_web_config_reloads_total"]
                if s.labels["result"] == "failure"]
    assert failures[0].value == 1
    # SIGHUP's path: a forced reload of a good file applies.
    pki.write(auth="NoClientCert")
    assert svc.guard.reload()
    assert https(port, context, headers=basic(USER, PASSWORD))[0] == 200


def test_a_bad_web_config_fails_at_start_up_naming_the_key(pki: Pki) -> None:
    pki.write(extra_tls="  min_version: TLS9\n")
    conf = make_conf(DEMO_URI, prometheus__web_config_file=str(pki.web))
    with pytest.raises(cfg.Error, match=r"web_config_file.*tls_server_config.min_version"):
        Service(conf)
    pki.write()
    pki.server.key.write_text("not a key")
    with pytest.raises(cfg.Error, match=r"cert_file/key_file"):
        Service(make_conf(DEMO_URI, prometheus__web_config_file=str(pki.web)))


def test_without_a_web_config_nothing_changes(service_factory) -> None:
    svc = service_factory(DEMO_URI)
    conn = http.client.HTTPConnection("127.0.0.1", svc.server.port, timeout=10)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    assert "enricher_http_tls_handshake_errors_total" not in text
