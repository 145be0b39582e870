"""HTTPS and WSS for ``paperex serve --tls``: a local certificate authority kept in the data dir, and a server
certificate it signs for the names this machine answers to (or the user's own certificate and key).

The CA is made once and reused by every restart, so a client told to trust it once keeps trusting the server;
the server certificate is re-issued by the same CA when the names change or it nears its end.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

TLS_DIR = "tls"
CA_CERT = "ca.pem"
CA_KEY = "ca.key"
SERVER_CERT = "server.pem"
SERVER_KEY = "server.key"

LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")
WILDCARD_HOSTS = ("", "0.0.0.0", "::", "*")
CA_DAYS = 3650
SERVER_DAYS = 397  # what browsers and Apple accept for a leaf certificate
RENEW_BEFORE_DAYS = 30


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path
    ca: Path | None  # None: the user's own certificate (their CA is theirs to hand out)


def server_names(host: str, extra: Iterable[str] = ()) -> list[str]:
    """localhost and the loopback addresses, the --host name when it is not a wildcard, and any extra names."""
    names = list(LOCAL_NAMES)
    for name in (host, *extra):
        name = name.strip().strip("[]")
        if name and name not in WILDCARD_HOSTS and name not in names:
            names.append(name)
    return names


def _write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner can read, whatever the umask; replace it atomically."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _san(names: Iterable[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


def _names_of(cert: x509.Certificate) -> set[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    return {*san.get_values_for_type(x509.DNSName), *(str(ip) for ip in san.get_values_for_type(x509.IPAddress))}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _make_ca(directory: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "paperex"),
                      x509.NameAttribute(NameOID.COMMON_NAME, f"paperex local CA ({os.urandom(4).hex()})")])
    now = _now()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    _write_private(directory / CA_KEY, _key_pem(key))
    _write_private(directory / CA_CERT, cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def _load_ca(directory: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    cert_path, key_path = directory / CA_CERT, directory / CA_KEY
    if not cert_path.exists() and not key_path.exists():
        return None
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise ValueError(f"the local CA in {directory} cannot be read ({exc}); move {directory} away to make "
                         "a new one (clients will have to trust the new CA)") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"the local CA key in {directory} is not the EC key paperex made")
    return cert, key


def _server_cert_current(directory: Path, names: list[str], ca: x509.Certificate) -> bool:
    try:
        cert = x509.load_pem_x509_certificate((directory / SERVER_CERT).read_bytes())
        (directory / SERVER_KEY).stat()
    except (OSError, ValueError):
        return False
    fresh = cert.not_valid_after_utc - _now() > dt.timedelta(days=RENEW_BEFORE_DAYS)
    return fresh and cert.issuer == ca.subject and _names_of(cert) == set(names)


def _issue_server_cert(directory: Path, names: list[str], ca: x509.Certificate,
                       ca_key: ec.EllipticCurvePrivateKey) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=SERVER_DAYS))
            .add_extension(_san(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    _write_private(directory / SERVER_KEY, _key_pem(key))
    _write_private(directory / SERVER_CERT, cert.public_bytes(serialization.Encoding.PEM))


def local_certificates(data_dir: Path, names: list[str]) -> TlsFiles:
    """The data dir's CA (made on first use) and a server certificate from it for ``names``."""
    directory = Path(data_dir) / TLS_DIR
    directory.mkdir(mode=0o700, exist_ok=True)
    os.chmod(directory, 0o700)
    loaded = _load_ca(directory)
    ca, ca_key = loaded if loaded is not None else _make_ca(directory)
    if ca.not_valid_after_utc <= _now() + dt.timedelta(days=1):
        raise ValueError(f"the local CA in {directory} has expired; move {directory} away to make a new one")
    if not _server_cert_current(directory, names, ca):
        _issue_server_cert(directory, names, ca, ca_key)
    return TlsFiles(cert=directory / SERVER_CERT, key=directory / SERVER_KEY, ca=directory / CA_CERT)


def server_context(files: TlsFiles) -> ssl.SSLContext:
    """A server-side context (TLS 1.2+) for HTTPS and WSS alike."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(files.cert, files.key)
    except ssl.SSLError as exc:
        raise ValueError(f"TLS: {files.cert} and {files.key} are not a PEM certificate (chain) and its private "
                         f"key ({exc.reason or exc})") from None
    return context
