"""A real SMTP server on loopback for the sandbox (aiosmtpd), STARTTLS required, with a throwaway certificate.

:class:`SandboxSmtp` serves ``smtp://127.0.0.1:PORT``. It refuses mail before STARTTLS (aiosmtpd's
``require_starttls``), takes a login only over TLS with the password in ``world.tokens["smtp"]``,
and parses every accepted message into ``world.notify_posts["email"]`` (envelope, headers, both
parts), so tests and the demo read exactly what a mailbox would hold. The certificate is made
for ``127.0.0.1`` when the server starts; clients trust it through :attr:`SandboxSmtp.ca_file`.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import socket
import ssl
import threading
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bot.sandbox.model import World


def throwaway_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, valid for a day: (cert file, key file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "upkeep sandbox SMTP")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def free_port() -> int:
    """A port free on 127.0.0.1 now (aiosmtpd's controller checks readiness by connecting, so it cannot take 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def parse_mail(envelope_from: str, recipients: list[str], data: bytes) -> dict[str, Any]:
    """One received mail as the sandbox records it."""
    message = BytesParser(policy=policy.default).parsebytes(data)
    assert isinstance(message, EmailMessage)
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    return {
        "mail_from": envelope_from,
        "rcpt_to": recipients,
        "message_id": str(message["Message-ID"]),
        "subject": str(message["Subject"]),
        "headers": {k: str(v) for k, v in message.items()},
        "text": text.get_content() if text is not None else None,
        "html": html.get_content() if html is not None else None,
    }


class _Handler:
    def __init__(self, world: World, lock: threading.Lock) -> None:
        self.world, self.lock = world, lock

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        mail = parse_mail(str(envelope.mail_from), list(envelope.rcpt_tos), data)
        mail["tls"] = session.ssl is not None
        with self.lock:
            self.world.notify_posts.setdefault("email", []).append(mail)
        return "250 Message accepted for delivery"


class SandboxSmtp:
    """The SMTP server as a context manager: ``with SandboxSmtp(world, directory) as smtp: smtp.url``."""

    def __init__(self, world: World, directory: Path) -> None:
        self.world = world
        self.cert_file, self.key_file = throwaway_certificate(directory)
        self.port = free_port()
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(self.cert_file, self.key_file)
        passwords = set(world.tokens.get("smtp", []))

        def authenticate(
            server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
        ) -> AuthResult:
            ok = isinstance(auth_data, LoginPassword) and auth_data.password.decode() in passwords
            return AuthResult(success=ok, handled=False)

        # aiosmtpd warns about its own use of a deprecated attribute on every login: noise in demo output.
        logging.getLogger("mail.log").setLevel(logging.ERROR)
        self._controller = Controller(
            _Handler(world, threading.Lock()),
            hostname="127.0.0.1",
            port=self.port,
            tls_context=tls,
            require_starttls=True,
            auth_require_tls=True,
            authenticator=authenticate,
        )

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def ca_file(self) -> Path:
        return self.cert_file

    @property
    def mails(self) -> list[dict[str, Any]]:
        return self.world.notify_posts.setdefault("email", [])

    def __enter__(self) -> SandboxSmtp:
        self._controller.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._controller.stop()
