"""Server SSL contexts from a ``tls_server_config``, and what a handshake failure was.

Mapping Go's crypto/tls settings to Python's ssl module (OpenSSL):

* ``client_auth_type``: NoClientCert asks for no certificate;
  VerifyClientCertIfGiven and RequireAndVerifyClientCert verify the
  certificate against ``client_ca_file`` (the system CAs without one).
  RequestClientCert and RequireAnyClientCert accept an unverified
  certificate in Go; Python's ssl module verifies every certificate it asks
  for, so they behave as VerifyClientCertIfGiven and
  RequireAndVerifyClientCert (stricter, never looser).
* ``client_allowed_sans``: checked after the handshake, on the verified
  certificate's DNS, IP, e-mail and URI subject alternative names; a
  mismatch closes the connection and counts as a handshake error.
* ``cipher_suites``: the TLS 1.0-1.2 suites, by OpenSSL's names; TLS 1.3
  suites cannot be chosen from Python (OpenSSL's defaults apply, as Go's do).
* ``curve_preferences``: Python sets one ECDH curve, the first listed.
"""

from __future__ import annotations

import asyncio
import os
import ssl
from collections.abc import Mapping, Sequence

from enricher.exporters.web_config import REQUIRE_CERT, TlsServerConfig, WebConfigError

# Seconds a client has to complete the TLS handshake.
HANDSHAKE_TIMEOUT = 10.0
# The reasons of enricher_http_tls_handshake_errors_total, in exposition order.
REASONS = ("plain_http", "no_client_certificate", "bad_client_certificate",
           "client_san_not_allowed", "protocol", "timeout", "closed")

Stamp = tuple[tuple[str, int, int, int], ...]  # (file, inode, size, mtime_ns) each


def _verify_mode(auth: str) -> ssl.VerifyMode:
    if auth == "NoClientCert":
        return ssl.CERT_NONE
    return ssl.CERT_REQUIRED if auth in REQUIRE_CERT else ssl.CERT_OPTIONAL


def build_context(config: TlsServerConfig) -> ssl.SSLContext:
    """A server context for ``config``, its files read now; WebConfigError if unusable."""
    if not hasattr(asyncio.StreamWriter, "start_tls"):
        raise WebConfigError("tls_server_config: TLS needs Python 3.11 or later "
                             "(asyncio.StreamWriter.start_tls)")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = config.min_version
    context.maximum_version = config.max_version
    # No TLS 1.3 session tickets: sent after the handshake on asyncio's TLS
    # transport they held the first response back by ~35 ms per new connection
    # (measured, tests/perf http --tls-auth); Prometheus keeps its connections
    # open, so resumption would save little.
    context.num_tickets = 0
    if config.prefer_server_cipher_suites:
        context.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    else:
        context.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
    try:
        if config.cipher_suites:
            context.set_ciphers(":".join(config.cipher_suites))
    except ssl.SSLError as exc:
        raise WebConfigError("tls_server_config.cipher_suites: OpenSSL accepts none of "
                             "them: %s" % exc) from exc
    if config.curve_preferences:
        try:
            context.set_ecdh_curve(config.curve_preferences[0])
        except ValueError as exc:
            raise WebConfigError("tls_server_config.curve_preferences: %s" % exc) from exc
    try:
        context.load_cert_chain(config.cert_file, config.key_file)
    except (OSError, ssl.SSLError) as exc:
        raise WebConfigError("tls_server_config.cert_file/key_file (%s, %s): cannot load "
                             "the certificate and key: %s"
                             % (config.cert_file, config.key_file, _why(exc))) from exc
    context.verify_mode = _verify_mode(config.client_auth_type)
    if context.verify_mode != ssl.CERT_NONE:
        try:
            if config.client_ca_file:
                context.load_verify_locations(cafile=config.client_ca_file)
            else:
                context.load_default_certs(ssl.Purpose.CLIENT_AUTH)
        except (OSError, ssl.SSLError) as exc:
            raise WebConfigError("tls_server_config.client_ca_file (%s): cannot load: %s"
                                 % (config.client_ca_file, _why(exc))) from exc
    return context


def _why(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or getattr(exc, "reason", None) or str(exc)


def stamp(files: Sequence[str]) -> Stamp:
    """What identifies the current content of ``files`` (a missing file counts too)."""
    result = []
    for name in files:
        try:
            st = os.stat(name)
        except OSError:
            result.append((name, -1, -1, -1))
        else:
            result.append((name, st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(result)


def san_allowed(peer: Mapping[str, object] | None, allowed: Sequence[str]) -> bool:
    """Whether the verified peer certificate has one of the ``allowed`` SANs."""
    if not allowed:
        return True
    if not peer:
        return False
    names = peer.get("subjectAltName") or ()
    return any(value in allowed for _kind, value in names  # type: ignore[attr-defined]
               if _kind in ("DNS", "IP Address", "email", "URI"))


def failure_reason(exc: BaseException) -> str:
    """The REASONS entry of a failed handshake."""
    if isinstance(exc, ssl.SSLError):
        reason = (exc.reason or "").upper()
        if reason == "HTTP_REQUEST":
            return "plain_http"
        if "DID_NOT_RETURN_A_CERTIFICATE" in reason or "CERTIFICATE_REQUIRED" in reason:
            return "no_client_certificate"
        if "CERTIFICATE" in reason or isinstance(exc, ssl.SSLCertVerificationError):
            return "bad_client_certificate"
        if isinstance(exc, ssl.SSLEOFError):
            return "closed"
        return "protocol"
    if isinstance(exc, asyncio.TimeoutError) or (
            isinstance(exc, ConnectionAbortedError) and "taking longer" in str(exc)):
        return "timeout"
    return "closed"
