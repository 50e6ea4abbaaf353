"""Test certificates made at test time (a CA, server and client certificates, keys).

Nothing here is committed: every test writes its own into a temporary
directory with the ``cryptography`` package.
"""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import ssl
from pathlib import Path

import bcrypt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

USER, PASSWORD = "prometheus", "scrape-Secret-42"  # the web config's basic-auth user


@dataclasses.dataclass(frozen=True)
class Pair:
    """A certificate and its key, as PEM files."""

    cert: Path
    key: Path

    def serial(self) -> int:
        return x509.load_pem_x509_certificate(self.cert.read_bytes()).serial_number


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write(directory: Path, stem: str, cert: x509.Certificate,
           key: ec.EllipticCurvePrivateKey) -> Pair:
    pair = Pair(directory / f"{stem}.crt", directory / f"{stem}.key")
    pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pair.key.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    pair.key.chmod(0o600)
    return pair


@dataclasses.dataclass
class Authority:
    """A throwaway CA that signs server and client certificates."""

    directory: Path
    name: str = "enricher test CA"

    def __post_init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (x509.CertificateBuilder()
                     .subject_name(_name(self.name)).issuer_name(_name(self.name))
                     .public_key(self.key.public_key())
                     .serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(minutes=5))
                     .not_valid_after(now + datetime.timedelta(days=2))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
                     .sign(self.key, hashes.SHA256()))
        self.pair = _write(self.directory, self.name.replace(" ", "-"), self.cert, self.key)

    @property
    def ca_file(self) -> Path:
        return self.pair.cert

    def issue(self, stem: str, common_name: str, dns: tuple[str, ...] = ("localhost",),
              ips: tuple[str, ...] = ("127.0.0.1",), client: bool = False) -> Pair:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
        names += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
        usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
        cert = (x509.CertificateBuilder()
                .subject_name(_name(common_name)).issuer_name(self.cert.subject)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName(names), False)
                .add_extension(x509.ExtendedKeyUsage([usage]), False)
                .sign(self.key, hashes.SHA256()))
        return _write(self.directory, stem, cert, key)


def bcrypt_hash(password: str, cost: int = 4) -> str:
    """A bcrypt hash as htpasswd -B makes (cost 4: fast tests; production uses 10+)."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(cost)).decode()


class Pki:
    """A CA, a server certificate, a client certificate and a web config file."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.ca = Authority(directory)
        self.server = self.ca.issue("server", "enricher.test")
        self.client = self.ca.issue("client", "prometheus", dns=("prometheus.test",),
                                    ips=(), client=True)
        self.web = directory / "web.yml"

    def write(self, auth: str = "RequireAndVerifyClientCert", users: bool = True,
              extra_tls: str = "", extra: str = "", password: str = PASSWORD,
              cost: int = 4) -> None:
        text = ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
                f"  client_auth_type: {auth}\n")
        if auth != "NoClientCert":
            text += f"  client_ca_file: {self.ca.ca_file.name}\n"
        text += extra_tls
        if users:
            text += f"basic_auth_users:\n  {USER}: '{bcrypt_hash(password, cost)}'\n"
        self.web.write_text(text + extra)

    def client_context(self, cert: Pair | None = None, ca: Path | None = None
                       ) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(ca or self.ca.ca_file))
        if cert is not None:
            context.load_cert_chain(str(cert.cert), str(cert.key))
        return context
