"""Email: the digest as multipart text + HTML over SMTP with STARTTLS, to a list of recipients.

The Message-ID is derived from the outbox key (``<upkeep.{hash}@{sender domain}>``) and the sent
record is the outbox row, delivered with that Message-ID and any refused recipients. SMTP has no
read-back: a crash after the server accepted the mail and before the row was written sends it
again on the next run with the *same* Message-ID, which mail clients and stores (Gmail,
Thunderbird, Exchange) treat as one message. STARTTLS is required; a server that does not offer
it gets nothing (no digest in clear text, no password in clear text).
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from html import escape as escape_html
from typing import Any
from urllib.parse import urlsplit

from bot.deliver.interface import Channel, Delivery, DeliveryError
from bot.notify.content import DigestDocument, bullet, html_link, render
from bot.notify.escape import email_html, email_text
from bot.notify.interface import PREVIEW, short_id

KEY_HEADER = "X-Upkeep-Key"


def message_id(key: str, sender: str) -> str:
    """The deterministic Message-ID of the digest with outbox key ``key``."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "upkeep.invalid"
    return f"<upkeep.{short_id(key)}@{domain}>"


def render_email(document: DigestDocument) -> dict[str, Any]:
    """Subject, plain text and HTML (no headers yet: the sender and recipients are configuration)."""
    text = [email_text(document.title), ""]
    markup = [f"<h2>{email_html(document.title)}</h2>"]
    for part in render(document, email_text, lambda s: s):
        text += ([part.title] if part.title else []) + [bullet(part.style, i) + x for i, x in enumerate(part.lines, 1)]
        text += ([part.note] if part.note else []) + [""]
    for part in render(document, email_html, lambda s: f"<strong>{s}</strong>", html_link):
        if part.title:
            markup.append(f"<h3>{part.title}</h3>")
        if part.style == "paragraph":
            markup.append("<p>" + "<br>\n".join(part.lines) + "</p>")
        else:
            tag = "ol" if part.style == "numbered" else "ul"
            markup.append(f"<{tag}>\n" + "\n".join(f"<li>{x}</li>" for x in part.lines) + f"\n</{tag}>")
        if part.note:
            markup.append(f"<p>{part.note}</p>")
    if document.review_url:
        text.append(f"Latest quarterly review: {document.review_url}")
        markup.append(f'<p><a href="{escape_html(document.review_url)}">Latest quarterly review</a></p>')
    html = "<!DOCTYPE html>\n<html><body>\n" + "\n".join(markup) + "\n</body></html>\n"
    plain = "\n".join(text).strip() + "\n"
    return {"subject": email_text(document.title), "html": html, PREVIEW: plain}


def build_message(item: Delivery, *, sender: str, recipients: list[str]) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = item.payload["subject"]
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(item.created_at)
    message["Message-ID"] = message_id(item.key, sender)
    message["Auto-Submitted"] = "auto-generated"
    message[KEY_HEADER] = item.key
    message.set_content(item.payload[PREVIEW])
    message.add_alternative(item.payload["html"], subtype="html")
    return message


class EmailNotifier:
    """Sends to one list through one SMTP server (``smtp://host:port``; STARTTLS required)."""

    channel: Channel = "email"

    def __init__(
        self,
        url: str,
        *,
        sender: str,
        recipients: list[str],
        username: str | None = None,
        password: str | None = None,
        tls: ssl.SSLContext | None = None,
        timeout: float = 30.0,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme != "smtp" or not parts.hostname:
            raise ValueError(f"{url!r}: an SMTP server is smtp://HOST:PORT (STARTTLS is used)")
        self._host, self._port = parts.hostname, parts.port or 587
        self._sender, self._recipients = sender, recipients
        self._username, self._password = username, password
        self._tls = tls or ssl.create_default_context()
        self._timeout = timeout

    def deliver(self, item: Delivery, *, maybe_sent: bool) -> str:
        message = build_message(item, sender=self._sender, recipients=self._recipients)
        where = f"email {self._host}:{self._port}"
        try:
            with smtplib.SMTP(self._host, self._port, timeout=self._timeout) as smtp:
                smtp.ehlo()
                if not smtp.has_extn("starttls"):
                    raise DeliveryError(f"{where}: the server does not offer STARTTLS; not sending in clear text")
                smtp.starttls(context=self._tls)
                smtp.ehlo()
                if self._username:
                    smtp.login(self._username, self._password or "")
                refused = smtp.send_message(message, from_addr=self._sender, to_addrs=self._recipients)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"{where}: every recipient refused: {sorted(exc.recipients)}", permanent=True) from exc
        except (smtplib.SMTPAuthenticationError, smtplib.SMTPSenderRefused) as exc:
            raise DeliveryError(f"{where}: {type(exc).__name__} {exc.smtp_code}", permanent=True) from exc
        except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
            raise DeliveryError(f"{where}: {type(exc).__name__}: {exc}") from exc
        sent = str(message["Message-ID"])
        if refused:  # shown in the sent record, never dropped silently
            sent += " refused: " + "; ".join(f"{who} {code}" for who, (code, _) in sorted(refused.items()))
        return sent
