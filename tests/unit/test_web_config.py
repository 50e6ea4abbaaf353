"""The exporter-toolkit web config parser: what it accepts, and errors naming the key."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from enricher.exporters import web_config
from enricher.exporters.web_config import WebConfigError
from tests.tlscerts import bcrypt_hash

HASH = bcrypt_hash("pw")


def test_empty_file_is_plain_http_without_auth() -> None:
    config = web_config.parse("")
    assert config.tls is None and not config.users and config.headers == ()


def test_full_file(tmp_path: Path) -> None:
    config = web_config.parse(f"""
tls_server_config:
  cert_file: server.crt
  key_file: /abs/server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.crt
  client_allowed_sans: [prometheus.example]
  min_version: TLS13
  max_version: TLS13
  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]
  curve_preferences: [X25519, CurveP256]
  prefer_server_cipher_suites: false
http_server_config:
  http2: false
  headers:
    X-Frame-Options: deny
    Strict-Transport-Security: max-age=31536000
basic_auth_users:
  prometheus: '{HASH}'
""", str(tmp_path))
    tls = config.tls
    assert tls is not None
    assert tls.cert_file == str(tmp_path / "server.crt")
    assert tls.key_file == "/abs/server.key"
    assert tls.client_ca_file == str(tmp_path / "ca.crt")
    assert tls.min_version == tls.max_version == ssl.TLSVersion.TLSv1_3
    assert tls.cipher_suites == ("ECDHE-RSA-AES128-GCM-SHA256",)  # TLS 1.3 names: no-op
    assert tls.curve_preferences == ("X25519", "prime256v1")
    assert tls.prefer_server_cipher_suites is False
    assert tls.client_allowed_sans == ("prometheus.example",)
    assert config.http2 is False
    assert config.headers == (("X-Frame-Options", "deny"),
                              ("Strict-Transport-Security", "max-age=31536000"))
    assert config.users == {"prometheus": HASH.encode()}
    assert HASH not in repr(config)


@pytest.mark.parametrize(("text", "message"), [
    ("tls_server_config:\n  cert_file: a\n  key_file: b\n  cert_fle: c\n",
     "tls_server_config.cert_fle: unknown key"),
    ("rate_limit:\n  burst: 1\n", "rate_limit: unknown key"),
    ("http_server_config:\n  http3: true\n", "http_server_config.http3: unknown key"),
    ("tls_server_config:\n  cert_file: a\n", "tls_server_config.key_file: missing"),
    ("tls_server_config:\n  key_file: a\n", "tls_server_config.cert_file: missing"),
    ("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: Always\n",
     "tls_server_config.client_auth_type: unknown client auth type 'Always'"),
    ("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: c\n",
     "tls_server_config.client_ca_file: client_ca_file is set but client_auth_type"),
    ("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_allowed_sans: [x]\n"
     "  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: c\n",
     "tls_server_config.client_allowed_sans: needs client_auth_type"),
    ("tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS14\n",
     "tls_server_config.min_version: unknown TLS version 'TLS14'"),
    ("tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS13\n"
     "  max_version: TLS12\n", "tls_server_config.min_version: above max_version"),
    ("tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_FOO]\n",
     "tls_server_config.cipher_suites: unknown cipher suite 'TLS_FOO'"),
    ("tls_server_config:\n  cert_file: a\n  key_file: b\n  curve_preferences: [P256]\n",
     "tls_server_config.curve_preferences: unknown curve 'P256'"),
    ("tls_server_config:\n  cert_file: a\n  key_file: b\n"
     "  prefer_server_cipher_suites: maybe\n",
     "tls_server_config.prefer_server_cipher_suites: expected true or false"),
    ("tls_server_config:\n  cert_file: [a]\n  key_file: b\n",
     "tls_server_config.cert_file: expected a string"),
    ("http_server_config:\n  headers:\n    Server: x\n",
     "http_server_config.headers.Server: HTTP header 'Server' can not be configured"),
    ("http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
     "http_server_config.headers.X-Frame-Options: invalid value 'allow'"),
    ("basic_auth_users:\n  alice: hunter2\n", "basic_auth_users.alice: not a bcrypt hash"),
    ("basic_auth_users: [alice]\n", "basic_auth_users: expected a mapping"),
    ("basic_auth_users:\n  a: x\n  a: y\n", "duplicate key 'a'"),
    ("tls_server_config: [\n", "not valid YAML"),
    ("- a\n", "top level: expected a mapping"),
])
def test_bad_files_name_the_key(text: str, message: str) -> None:
    with pytest.raises(WebConfigError) as caught:
        web_config.parse(text)
    assert message in str(caught.value)


def test_a_password_put_where_a_hash_belongs_is_not_echoed() -> None:
    with pytest.raises(WebConfigError) as caught:
        web_config.parse("basic_auth_users:\n  alice: CorrectHorseBattery\n")
    assert "CorrectHorseBattery" not in str(caught.value)


def test_load_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "web.yml"
    path.write_text("tls_server_config:\n  bogus: 1\n")
    with pytest.raises(WebConfigError, match=r"web config file .*web.yml: "
                                             r"tls_server_config.bogus: unknown key"):
        web_config.load(str(path))
    with pytest.raises(WebConfigError, match="cannot read web config file"):
        web_config.load(str(tmp_path / "missing.yml"))


def test_every_go_cipher_suite_maps_to_one_openssl_knows() -> None:
    names = [n for n in web_config.CIPHER_SUITES.values() if n]
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.set_ciphers("ALL:@SECLEVEL=0")
    known = {c["name"] for c in context.get_ciphers()}
    missing = set(names) - known - {"DES-CBC3-SHA", "ECDHE-RSA-DES-CBC3-SHA"}  # not built
    assert not missing
