"""Basic-auth header parsing and the bcrypt outcome cache."""

from __future__ import annotations

import base64

from enricher.exporters.basic_auth import BasicAuth, credentials
from enricher.exporters.tls import san_allowed
from tests.tlscerts import bcrypt_hash


def header(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_credentials() -> None:
    assert credentials(header("a", "b:c")) == ("a", "b:c")
    assert credentials("basic " + base64.b64encode(b"a:").decode()) == ("a", "")
    for bad in ("", "Bearer x", "Basic !!!", "Basic " + base64.b64encode(b"nocolon").decode(),
                "Basic " + base64.b64encode(b"\xff:\xfe").decode()):
        assert credentials(bad) is None, bad


def test_outcomes_are_cached_per_credential_and_hash() -> None:
    auth = BasicAuth({"prom": bcrypt_hash("right").encode()})
    assert auth.cached(header("prom", "right")) is None
    assert auth.check(header("prom", "right")) and auth.check(header("prom", "right"))
    assert not auth.check(header("prom", "wrong")) and not auth.check(header("bob", "right"))
    assert auth.bcrypt_checks == 3
    assert auth.cached(header("prom", "right")) is True
    assert auth.cached(None) is False and auth.check(None) is False
    # A new hash for the same user is a new cache key.
    other = BasicAuth({"prom": bcrypt_hash("right").encode()})
    assert other.cached(header("prom", "right")) is None


def test_the_cache_is_bounded() -> None:
    auth = BasicAuth({"prom": bcrypt_hash("right").encode()}, cache_size=2)
    for n in range(3):
        auth.check(header("prom", f"wrong{n}"))
    assert auth.cached(header("prom", "wrong0")) is None
    assert auth.cached(header("prom", "wrong2")) is False


def test_san_allowed() -> None:
    peer = {"subjectAltName": (("DNS", "prom.example"), ("IP Address", "10.0.0.1"))}
    assert san_allowed(peer, ())
    assert san_allowed(peer, ("10.0.0.1",))
    assert not san_allowed(peer, ("other.example",))
    assert not san_allowed({}, ("prom.example",))
