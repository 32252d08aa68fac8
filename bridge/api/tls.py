"""TLS for a server that listens beyond loopback: a given certificate, or a self-signed one generated once
(`cryptography`) and kept in `<data dir>/tls/` (key 0600). Clients pin it by its SHA-256 fingerprint, or use
the certificate file as their CA."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
from dataclasses import dataclass
from pathlib import Path

from bridge.files.datadir import secure_dir, write_bytes_atomic

CERT_NAME, KEY_NAME = "cert.pem", "key.pem"
VALID_DAYS = 825


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path
    fingerprint: str  # SHA-256 of the DER certificate, colon-separated hex
    generated: bool


def fingerprint(cert_pem: bytes) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    digest = x509.load_pem_x509_certificate(cert_pem).fingerprint(hashes.SHA256())
    return ":".join(f"{b:02X}" for b in digest)


def given(cert: Path, key: Path) -> TlsFiles:
    return TlsFiles(Path(cert), Path(key), fingerprint(Path(cert).read_bytes()), generated=False)


def self_signed(data_dir: Path, listen: str) -> TlsFiles:
    """The data dir's self-signed certificate, made now if missing, expiring or not naming `listen`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = Path(data_dir) / "tls"
    cert_path, key_path = folder / CERT_NAME, folder / KEY_NAME
    names = _names(listen)
    if cert_path.is_file() and key_path.is_file():
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            have = {str(v) for v in san.get_values_for_type(x509.DNSName)} | {
                str(v) for v in san.get_values_for_type(x509.IPAddress)
            }
        except x509.ExtensionNotFound:
            have = set()
        fresh = cert.not_valid_after_utc - dt.timedelta(days=30) > dt.datetime.now(dt.UTC)
        if fresh and {str(n) for n in names} <= have:
            return TlsFiles(cert_path, key_path, fingerprint(cert_path.read_bytes()), generated=False)
    secure_dir(folder)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, f"Pixel Detective on {socket.gethostname()}")]
    )
    now = dt.datetime.now(dt.UTC)
    sans: list[x509.GeneralName] = [
        x509.IPAddress(n) if isinstance(n, ipaddress.IPv4Address | ipaddress.IPv6Address) else x509.DNSName(n)
        for n in names
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.KeyUsage(True, False, False, False, True, False, False, False, False), critical=True
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    write_bytes_atomic(key_path, key_pem)  # 0600
    write_bytes_atomic(cert_path, cert_pem, mode=0o644)
    return TlsFiles(cert_path, key_path, fingerprint(cert_pem), generated=True)


def _names(listen: str) -> list[str | ipaddress.IPv4Address | ipaddress.IPv6Address]:
    out: list[str | ipaddress.IPv4Address | ipaddress.IPv6Address] = [
        "localhost",
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    host = socket.gethostname()
    if host and host != "localhost":
        out.append(host)
    try:
        addr = ipaddress.ip_address(listen)
        if not addr.is_unspecified and addr not in out:
            out.append(addr)
    except ValueError:
        if listen and listen not in out:
            out.append(listen)
    return out
