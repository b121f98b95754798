"""A throw-away certificate authority for the lab: SPIFFE identities on loopback.

Istio's sidecars present X.509 certificates whose URI SAN is the workload's SPIFFE ID
(``spiffe://<trust domain>/ns/<namespace>/sa/<service account>``) and authorise on it
(https://istio.io/latest/docs/concepts/security/#istio-identity). The lab makes one CA per run,
one server certificate per service and one client certificate per calling identity, all in a
temporary folder that is removed with the run; nothing is kept or trusted beyond it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["CertificateAuthority", "KeyPair", "spiffe_id"]

_LIFETIME = dt.timedelta(hours=2)


def spiffe_id(trust_domain: str, namespace: str, service_account: str) -> str:
    """The SPIFFE ID Istio gives a workload's service account."""
    return f"spiffe://{trust_domain}/ns/{namespace}/sa/{service_account}"


@dataclass(frozen=True, slots=True)
class KeyPair:
    """A certificate and its private key, written as PEM files."""

    cert: Path
    """Certificate (PEM)."""
    key: Path
    """Private key (PEM, unencrypted: the folder lives only as long as the run)."""


class CertificateAuthority:
    """A CA that signs workload certificates into ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "trustmap lab CA")])
        now = dt.datetime.now(dt.UTC)
        self._name = name
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + _LIFETIME)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_ca_usage(), critical=True)
            .sign(self._key, hashes.SHA256())
        )
        self.root = folder / "ca.pem"
        self.root.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, name: str, uri: str, dns: str = "localhost") -> KeyPair:
        """Sign a certificate for ``uri`` (the SPIFFE ID) usable as client and server."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        sans = x509.SubjectAlternativeName([x509.UniformResourceIdentifier(uri), x509.DNSName(dns)])
        usage = x509.ExtendedKeyUsage(
            [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
        )
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name[:64])]))
            .issuer_name(self._name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + _LIFETIME)
            .add_extension(sans, critical=False)
            .add_extension(usage, critical=False)
            .sign(self._key, hashes.SHA256())
        )
        pair = KeyPair(self.folder / f"{name}.pem", self.folder / f"{name}.key")
        pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        pair.key.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return pair


def _ca_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )
