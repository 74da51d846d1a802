"""Email: multipart text + HTML over SMTP with STARTTLS, received by a real aiosmtpd server and parsed."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from bot.deliver.interface import Delivery, DeliveryError
from bot.notify.content import build_document
from bot.notify.email import KEY_HEADER, EmailNotifier, message_id, render_email
from bot.sandbox.model import World
from bot.sandbox.smtp import SandboxSmtp, free_port
from tests.notify_world import hostile_digest
from tests.sandbox_handmade import make_world

PASSWORD = "smtp-handmade-password"
SENDER = "upkeep <upkeep@acme.example>"
RECIPIENTS = ["finance@acme.example", "ospo@acme.example"]
KEY = "email:finance@acme.example,ospo@acme.example:digest:2026-W48"


@pytest.fixture
def world() -> World:
    world = make_world()
    world.tokens["smtp"] = [PASSWORD]
    return world


def delivery(world: World, key: str = KEY) -> Delivery:
    payload = render_email(build_document(hostile_digest(), key=key))
    return Delivery(key, "email", ",".join(RECIPIENTS), "digest", "post", payload, world.now)


def notifier(smtp: SandboxSmtp, *, password: str = PASSWORD, trust: bool = True) -> EmailNotifier:
    tls = ssl.create_default_context(cafile=str(smtp.ca_file)) if trust else ssl.create_default_context()
    return EmailNotifier(
        smtp.url, sender=SENDER, recipients=RECIPIENTS, username="upkeep", password=password, tls=tls, timeout=10
    )


def test_the_digest_arrives_as_text_and_html_over_starttls(world: World, tmp_path: Path) -> None:
    with SandboxSmtp(world, tmp_path) as smtp:
        sent = notifier(smtp).deliver(delivery(world), maybe_sent=False)
    [mail] = smtp.mails
    assert mail["tls"] is True
    assert sorted(mail["rcpt_to"]) == RECIPIENTS and mail["mail_from"] == "upkeep@acme.example"
    assert mail["message_id"] == sent == message_id(KEY, SENDER)
    assert mail["message_id"].endswith("@acme.example>")
    assert mail["headers"][KEY_HEADER] == KEY and mail["headers"]["Auto-Submitted"] == "auto-generated"
    assert "upkeep digest" in mail["subject"]
    assert "Top gaps" in mail["text"] and "<h3>Top gaps</h3>" in mail["html"]
    assert "github.com/psf/requests" in mail["text"] and "github.com/psf/requests" in mail["html"]


def test_a_resend_after_a_crash_carries_the_same_message_id(world: World, tmp_path: Path) -> None:
    with SandboxSmtp(world, tmp_path) as smtp:
        first = notifier(smtp).deliver(delivery(world), maybe_sent=False)
        again = notifier(smtp).deliver(delivery(world), maybe_sent=True)
        other = notifier(smtp).deliver(delivery(world, key=KEY.replace("W48", "W49")), maybe_sent=False)
    assert first == again != other
    assert [m["message_id"] for m in smtp.mails] == [first, first, other]


def test_an_untrusted_certificate_sends_nothing(world: World, tmp_path: Path) -> None:
    with SandboxSmtp(world, tmp_path) as smtp, pytest.raises(DeliveryError, match="SSL"):
        notifier(smtp, trust=False).deliver(delivery(world), maybe_sent=False)
    assert smtp.mails == []


def test_a_wrong_password_is_permanent(world: World, tmp_path: Path) -> None:
    with SandboxSmtp(world, tmp_path) as smtp, pytest.raises(DeliveryError) as err:
        notifier(smtp, password="wrong").deliver(delivery(world), maybe_sent=False)
    assert err.value.permanent and PASSWORD not in str(err.value) and smtp.mails == []


def test_a_server_without_starttls_gets_nothing(world: World) -> None:
    received: list[object] = []

    class Handler:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            received.append(envelope)
            return "250 OK"

    port = free_port()
    plain = Controller(Handler(), hostname="127.0.0.1", port=port)
    plain.start()
    try:
        sink = EmailNotifier(f"smtp://127.0.0.1:{port}", sender=SENDER, recipients=RECIPIENTS, timeout=10)
        with pytest.raises(DeliveryError, match="STARTTLS") as err:
            sink.deliver(delivery(world), maybe_sent=False)
    finally:
        plain.stop()
    assert received == [] and not err.value.permanent


def test_hostile_text_is_escaped_in_html_and_links_nothing(world: World, tmp_path: Path) -> None:
    with SandboxSmtp(world, tmp_path) as smtp:
        notifier(smtp).deliver(delivery(world), maybe_sent=False)
    [mail] = smtp.mails
    html, text = mail["html"], mail["text"]
    assert "<script" not in html and "<b>" not in html and "<at>" not in html and "<a " not in html
    assert "&lt;script&gt;" in html
    assert "https://evil" not in html and "https://evil" not in text  # schemes broken: no autolinks
    assert "<script>" in text.replace("\u2060", "")  # the plain part shows the text as it is, defanged


def test_refused_recipients_are_written_into_the_sent_record(world: World, tmp_path: Path) -> None:
    from bot.sandbox.smtp import throwaway_certificate

    cert, key = throwaway_certificate(tmp_path / "tls")
    accepted: list[list[str]] = []

    class Handler:
        async def handle_RCPT(
            self, server: object, session: object, envelope: object, address: str, options: object
        ) -> str:
            if address.startswith("finance@"):
                return "550 5.1.1 No such user"
            envelope.rcpt_tos.append(address)  # type: ignore[attr-defined]
            return "250 OK"

        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            accepted.append(list(envelope.rcpt_tos))  # type: ignore[attr-defined]
            return "250 OK"

    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    port = free_port()
    server = Controller(Handler(), hostname="127.0.0.1", port=port, tls_context=tls, require_starttls=True)
    server.start()
    try:
        sink = EmailNotifier(
            f"smtp://127.0.0.1:{port}",
            sender=SENDER,
            recipients=RECIPIENTS,
            tls=ssl.create_default_context(cafile=str(cert)),
            timeout=10,
        )
        sent = sink.deliver(delivery(world), maybe_sent=False)
    finally:
        server.stop()
    assert accepted == [["ospo@acme.example"]]
    assert sent == f"{message_id(KEY, SENDER)} refused: finance@acme.example 550"
