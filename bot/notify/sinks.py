"""The adapters for the ``[[notify]]`` entries, one :class:`TargetRouter` per kind (chosen at the edge)."""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping

from bot.config import NotifySettings, Secrets, Settings
from bot.deliver.interface import Sink
from bot.http import RetryPolicy, make_client
from bot.logs import redact_also
from bot.notify.email import EmailNotifier
from bot.notify.interface import TargetRouter
from bot.notify.matrix import MatrixNotifier
from bot.notify.mattermost import MattermostNotifier
from bot.notify.teams import TeamsNotifier

NO_RETRY = RetryPolicy(max_retries=0)
NEEDS_URL = frozenset({"mattermost", "matrix", "email"})
NEEDS_SECRET = frozenset({"mattermost", "matrix", "teams"})


def _secret(entry: NotifySettings, secrets: Secrets, environ: Mapping[str, str]) -> str | None:
    found = secrets.named_secret(entry.secret_env)
    if found is not None:
        return found.get_secret_value()
    value = environ.get(entry.secret_env or "", "").strip() if entry.secret_env else ""
    return value or None


def _adapter(entry: NotifySettings, secret: str | None, settings: Settings) -> Sink:
    target = entry.target_key()
    url = (entry.url or "").rstrip("/")
    timeout = float(entry.timeout_seconds)
    if entry.kind == "mattermost":
        reader = make_client(url, token=secret, timeout=timeout)
        poster = make_client(url, token=secret, timeout=timeout, policy=NO_RETRY)
        return MattermostNotifier(reader, target, post_client=poster)
    if entry.kind == "matrix":  # a PUT with a transaction id may be retried: it is the same event
        return MatrixNotifier(make_client(url, token=secret, timeout=timeout), target)
    if entry.kind == "teams":
        assert secret is not None
        return TeamsNotifier(make_client(timeout=timeout, policy=NO_RETRY), secret, target)
    if entry.kind == "email":
        tls = ssl.create_default_context(cafile=entry.ca_file) if entry.ca_file else ssl.create_default_context()
        return EmailNotifier(
            url,
            sender=entry.sender or "",
            recipients=target.split(","),
            username=entry.username,
            password=secret,
            tls=tls,
            timeout=timeout,
        )
    from slack_sdk import WebClient

    from bot.deliver.slack import POST_INTERVAL_SECONDS, SlackSink, retry_handlers

    api = entry.url or settings.slack.api_url
    slack_clients = [
        WebClient(token=secret, base_url=api, timeout=entry.timeout_seconds, retry_handlers=retry_handlers(posting=p))
        for p in (False, True)
    ]
    interval = POST_INTERVAL_SECONDS / settings.github.time_compression  # compressed in the sandbox
    return SlackSink(slack_clients[0], post_client=slack_clients[1], post_interval=interval)


def build_notify_sinks(
    settings: Settings,
    secrets: Secrets,
    *,
    slack: Sink | None = None,
    environ: Mapping[str, str] | None = None,
) -> tuple[dict[str, Sink], list[str]]:
    """A router per kind with an adapter per configured target, and a line for each entry left out.

    ``slack`` (the ``[slack]`` sink) handles Slack targets that have no ``secret_env`` of their own.
    """
    env = os.environ if environ is None else environ
    by_kind: dict[str, dict[str, Sink]] = {}
    notes: list[str] = []
    for entry in settings.notify:
        target = entry.target_key()
        label = f"notify {entry.kind} {target}"
        secret = _secret(entry, secrets, env)
        if secret is not None:
            redact_also([secret])
        if entry.kind == "slack" and entry.secret_env is None:
            continue  # the [slack] sink (SLACK_BOT_TOKEN / SLACK_WEBHOOK_URL) posts it
        if entry.kind in NEEDS_URL and not entry.url:
            notes.append(f"{label}: no url configured; its digest waits in the outbox")
            continue
        if entry.kind == "email" and not entry.sender:
            notes.append(f"{label}: no sender configured; its digest waits in the outbox")
            continue
        if secret is None and (entry.kind in NEEDS_SECRET or entry.kind == "slack"):
            notes.append(f"{label}: {entry.secret_env or 'secret_env'} is not set; its digest waits in the outbox")
            continue
        by_kind.setdefault(entry.kind, {})[target] = _adapter(entry, secret, settings)
    sinks: dict[str, Sink] = {}
    for kind, targets in by_kind.items():
        sinks[kind] = TargetRouter(kind, targets, fallback=slack if kind == "slack" else None)  # type: ignore[arg-type]
    return sinks, notes
