"""The Prometheus exporter-toolkit web configuration file, parsed and validated.

The format is exporter-toolkit's (``docs/web-configuration.md``, the file
node_exporter's ``--web.config.file`` reads), unchanged: ``tls_server_config``,
``http_server_config`` and ``basic_auth_users``. As exporter-toolkit does
(``yaml.UnmarshalStrict``), an unknown key, a duplicate key or a value of the
wrong type is an error, here one that names the key. Relative file names are
relative to the directory of the web config file. Nothing here opens a
socket or builds an SSL context (see ``tls.py``); the files named are read
there, so that a certificate rotation is picked up without re-parsing.
"""

from __future__ import annotations

import dataclasses
import os
import re
import ssl
from collections.abc import Mapping
from typing import Any

import yaml

# Go's tls.ClientAuthType names (RequireClientCert is an exporter-toolkit alias).
CLIENT_AUTH_TYPES = ("NoClientCert", "RequestClientCert", "RequireAnyClientCert",
                     "RequireClientCert", "VerifyClientCertIfGiven",
                     "RequireAndVerifyClientCert")
# The client auth types under which a client must present a certificate.
REQUIRE_CERT = ("RequireAnyClientCert", "RequireClientCert", "RequireAndVerifyClientCert")

TLS_VERSIONS: Mapping[str, ssl.TLSVersion] = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}

# Go's crypto/tls cipher suite names (tls.CipherSuites(), what exporter-toolkit
# accepts) and OpenSSL's names for the TLS 1.0-1.2 ones. Python's ssl module
# cannot choose TLS 1.3 suites (SSLContext.set_ciphers() only sets the TLS 1.2
# list): those names are accepted, as Go does (it ignores them too), and
# OpenSSL's TLS 1.3 defaults apply.
TLS13_CIPHER_SUITES = ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                       "TLS_CHACHA20_POLY1305_SHA256")
CIPHER_SUITES: Mapping[str, str] = {
    "TLS_RSA_WITH_3DES_EDE_CBC_SHA": "DES-CBC3-SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA": "AES128-SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA": "AES256-SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256": "AES128-GCM-SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384": "AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
    "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA": "ECDHE-RSA-DES-CBC3-SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
    **{name: "" for name in TLS13_CIPHER_SUITES},
}

# Go's curve names and OpenSSL's. Python's ssl module sets one ECDH curve
# (SSLContext.set_ecdh_curve): the first one listed is used.
CURVES: Mapping[str, str] = {
    "CurveP256": "prime256v1",
    "CurveP384": "secp384r1",
    "CurveP521": "secp521r1",
    "X25519": "X25519",
}

# The response headers exporter-toolkit lets a web config set, and the values
# allowed where it enumerates them (web/handler.go extraHTTPHeaders).
HEADERS: Mapping[str, tuple[str, ...]] = {
    "Strict-Transport-Security": (),
    "X-Content-Type-Options": ("nosniff",),
    "X-Frame-Options": ("deny", "sameorigin"),
    "X-XSS-Protection": (),
    "Content-Security-Policy": (),
}

# A bcrypt hash as Go's golang.org/x/crypto/bcrypt reads it ($2a$, $2b$, $2y$).
_BCRYPT = re.compile(r"\$2[aby]?\$(\d\d)\$[./A-Za-z0-9]{53}")
_BCRYPT_COST = (4, 31)


class WebConfigError(Exception):
    """The web config file cannot be used; the message names the file and key."""


@dataclasses.dataclass(frozen=True, slots=True)
class TlsServerConfig:
    """``tls_server_config``: file names absolute, names already mapped to OpenSSL's."""

    cert_file: str
    key_file: str
    client_auth_type: str = "NoClientCert"
    client_ca_file: str = ""
    client_allowed_sans: tuple[str, ...] = ()
    min_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2
    max_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_3
    cipher_suites: tuple[str, ...] = ()  # OpenSSL names of the TLS 1.0-1.2 suites
    curve_preferences: tuple[str, ...] = ()  # OpenSSL names
    prefer_server_cipher_suites: bool = True

    @property
    def files(self) -> tuple[str, ...]:
        """The files a change of which means a new SSL context."""
        return tuple(f for f in (self.cert_file, self.key_file, self.client_ca_file) if f)


@dataclasses.dataclass(frozen=True, slots=True)
class WebConfig:
    """The whole file. ``tls`` None: plain HTTP; ``users`` empty: no basic auth."""

    tls: TlsServerConfig | None = None
    http2: bool = True  # accepted for compatibility: the server speaks HTTP/1.1 only
    headers: tuple[tuple[str, str], ...] = ()
    users: Mapping[str, bytes] = dataclasses.field(default_factory=dict)  # bcrypt hashes

    def __repr__(self) -> str:
        # Never the hashes: a repr can end up in a log line.
        return "WebConfig(tls=%r, http2=%r, headers=%r, users=%s)" % (
            self.tls, self.http2, self.headers, sorted(self.users))


class _StrictLoader(yaml.SafeLoader):
    """A safe loader that refuses duplicate mapping keys (as yaml.v2 strict does)."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    result: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise yaml.constructor.ConstructorError(
                None, None, "duplicate key %r" % (key,), key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=True)
    return result


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


class _Reader:
    """Typed access to one mapping of the file, naming the key in every error."""

    def __init__(self, data: object, where: str) -> None:
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise WebConfigError("%s: expected a mapping, got %s"
                                 % (where or "top level", _kind(data)))
        self.data, self.where = data, where

    def key(self, name: str) -> str:
        return "%s.%s" % (self.where, name) if self.where else name

    def check_keys(self, known: tuple[str, ...]) -> None:
        for name in self.data:
            if name not in known:
                raise WebConfigError("%s: unknown key (known keys: %s)"
                                     % (self.key(str(name)), ", ".join(known)))

    def string(self, name: str, default: str = "") -> str:
        value = self.data.get(name)
        if value is None:
            return default
        if not isinstance(value, str):
            raise WebConfigError("%s: expected a string, got %s"
                                 % (self.key(name), _kind(value)))
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self.data.get(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise WebConfigError("%s: expected true or false, got %s"
                                 % (self.key(name), _kind(value)))
        return value

    def strings(self, name: str) -> tuple[str, ...]:
        value = self.data.get(name)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            raise WebConfigError("%s: expected a list of strings" % self.key(name))
        return tuple(value)

    def choice(self, name: str, choices: Mapping[str, Any] | tuple[str, ...],
               what: str, default: str) -> str:
        value = self.string(name, default) or default
        if value not in choices:
            raise WebConfigError("%s: unknown %s %r (one of %s)"
                                 % (self.key(name), what, value, ", ".join(choices)))
        return value


def _kind(value: object) -> str:
    return {dict: "a mapping", list: "a list", bool: "a boolean", int: "a number",
            float: "a number", str: "a string"}.get(type(value), type(value).__name__)


def _path(directory: str, name: str) -> str:
    return os.path.join(directory, name) if name else ""


def _tls(reader: _Reader, directory: str) -> TlsServerConfig | None:
    reader.check_keys(("cert_file", "key_file", "client_auth_type", "client_ca_file",
                       "client_allowed_sans", "min_version", "max_version", "cipher_suites",
                       "curve_preferences", "prefer_server_cipher_suites"))
    cert, key = reader.string("cert_file"), reader.string("key_file")
    auth_given = reader.string("client_auth_type")
    ca = reader.string("client_ca_file")
    if not (cert or key or ca or auth_given):
        return None  # exporter-toolkit: no TLS config, plain HTTP
    if not cert:
        raise WebConfigError("%s: missing (TLS needs cert_file and key_file)"
                             % reader.key("cert_file"))
    if not key:
        raise WebConfigError("%s: missing (TLS needs cert_file and key_file)"
                             % reader.key("key_file"))
    auth = reader.choice("client_auth_type", CLIENT_AUTH_TYPES, "client auth type",
                         "NoClientCert")
    if ca and auth == "NoClientCert":
        raise WebConfigError("%s: client_ca_file is set but client_auth_type is "
                             "NoClientCert (client CAs without a client auth policy)"
                             % reader.key("client_ca_file"))
    sans = reader.strings("client_allowed_sans")
    if sans and auth not in REQUIRE_CERT:
        raise WebConfigError("%s: needs client_auth_type RequireAnyClientCert or "
                             "RequireAndVerifyClientCert" % reader.key("client_allowed_sans"))
    versions = [TLS_VERSIONS[reader.choice(name, TLS_VERSIONS, "TLS version", default)]
                for name, default in (("min_version", "TLS12"), ("max_version", "TLS13"))]
    if versions[0] > versions[1]:
        raise WebConfigError("%s: above max_version" % reader.key("min_version"))
    suites = []
    for name in reader.strings("cipher_suites"):
        if name not in CIPHER_SUITES:
            raise WebConfigError("%s: unknown cipher suite %r"
                                 % (reader.key("cipher_suites"), name))
        if CIPHER_SUITES[name]:
            suites.append(CIPHER_SUITES[name])
    curves = []
    for name in reader.strings("curve_preferences"):
        if name not in CURVES:
            raise WebConfigError("%s: unknown curve %r (one of %s)"
                                 % (reader.key("curve_preferences"), name, ", ".join(CURVES)))
        curves.append(CURVES[name])
    return TlsServerConfig(
        cert_file=_path(directory, cert), key_file=_path(directory, key),
        client_auth_type=auth, client_ca_file=_path(directory, ca),
        client_allowed_sans=sans, min_version=versions[0], max_version=versions[1],
        cipher_suites=tuple(suites), curve_preferences=tuple(curves),
        prefer_server_cipher_suites=reader.boolean("prefer_server_cipher_suites", True))


def _headers(reader: _Reader) -> tuple[tuple[str, str], ...]:
    headers = []
    for name in reader.data:
        if name not in HEADERS:
            raise WebConfigError("%s: HTTP header %r can not be configured (one of %s)"
                                 % (reader.key(str(name)), name, ", ".join(HEADERS)))
        text = reader.string(name)
        if HEADERS[name] and text not in HEADERS[name]:
            raise WebConfigError("%s: invalid value %r (one of %s)"
                                 % (reader.key(name), text, ", ".join(HEADERS[name])))
        if "\r" in text or "\n" in text:
            raise WebConfigError("%s: a header value is one line" % reader.key(name))
        if text:
            headers.append((name, text))
    return tuple(headers)


def _users(reader: _Reader) -> dict[str, bytes]:
    users = {}
    for name, value in reader.data.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise WebConfigError("%s: expected a user name and a bcrypt hash"
                                 % reader.key(str(name)))
        match = _BCRYPT.fullmatch(value)
        if match is None or not (_BCRYPT_COST[0] <= int(match[1]) <= _BCRYPT_COST[1]):
            # Never the value: it is a password hash, or a password put there by mistake.
            raise WebConfigError("%s: not a bcrypt hash (make one with htpasswd -nBC 10 "
                                 "\"\" | tr -d ':\\n')" % reader.key(name))
        users[name] = value.encode("ascii")
    return users


def parse(text: str, directory: str = ".") -> WebConfig:
    """The web config in ``text``; relative file names are taken from ``directory``."""
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise WebConfigError("not valid YAML: %s" % str(exc).replace("\n", " ")) from exc
    top = _Reader(data, "")
    top.check_keys(("tls_server_config", "http_server_config", "basic_auth_users"))
    http = _Reader(top.data.get("http_server_config"), "http_server_config")
    http.check_keys(("http2", "headers"))
    return WebConfig(
        tls=_tls(_Reader(top.data.get("tls_server_config"), "tls_server_config"), directory),
        http2=http.boolean("http2", True),
        headers=_headers(_Reader(http.data.get("headers"), "http_server_config.headers")),
        users=_users(_Reader(top.data.get("basic_auth_users"), "basic_auth_users")))


def load(path: str) -> WebConfig:
    """Read and parse the file at ``path``; WebConfigError names the file and the key."""
    try:
        with open(path, encoding="utf-8") as stream:
            text = stream.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise WebConfigError("cannot read web config file %s: %s"
                             % (path, getattr(exc, "strerror", None) or exc)) from exc
    try:
        return parse(text, os.path.dirname(os.path.abspath(path)))
    except WebConfigError as exc:
        raise WebConfigError("web config file %s: %s" % (path, exc)) from exc
