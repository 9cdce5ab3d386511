"""A throw-away TLS identity for the simulator: a self-signed certificate for 127.0.0.1 and
localhost, made at start with ``cryptography`` (an Odoo requirement), never written anywhere
but a temporary folder.

Clients trust it by its PEM file (``ca_file``) — the certificate is its own authority — the
way an administrator points the add-on at a private CA: verification stays on.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import ssl
import tempfile

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


class SelfSignedIdentity:
    """A key and certificate in a temporary folder; :meth:`close` removes them."""

    def __init__(self, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CRM.COM simulator")])
        now = datetime.datetime.now(datetime.timezone.utc)
        names = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        public = key.public_key()
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            # Its own authority: the extensions a strict verifier asks of a trust anchor.
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False
            )
            .sign(key, hashes.SHA256())
        )
        self.folder = tempfile.mkdtemp(prefix="crmcom-simulator-tls-")
        self.cert_file = os.path.join(self.folder, "simulator-cert.pem")
        self.key_file = os.path.join(self.folder, "simulator-key.pem")
        with open(self.cert_file, "wb") as file:
            file.write(certificate.public_bytes(serialization.Encoding.PEM))
        with open(os.open(self.key_file, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as file:
            file.write(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )

    @property
    def ca_file(self) -> str:
        """What a client trusts to talk to this server."""
        return self.cert_file

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
