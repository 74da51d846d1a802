"""Outbox rows for the ``[[notify]]`` entries: one digest per kind, target and period, rendered natively."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlmodel import Session

from bot.config import NotifySettings, Settings
from bot.deliver.interface import Channel, DigestData
from bot.deliver.outbox import PlannedItem, RetryPolicy, content_hash
from bot.notify.content import DigestDocument, build_document
from bot.notify.email import render_email
from bot.notify.interface import digest_key
from bot.notify.matrix import render_matrix
from bot.notify.mattermost import render_mattermost
from bot.notify.teams import render_teams
from bot.store import outbox as store

RENDERERS: dict[str, Callable[[DigestDocument], dict[str, Any]]] = {
    "mattermost": render_mattermost,
    "matrix": render_matrix,
    "teams": render_teams,
    "email": render_email,
}


def _slack_payload(digest: DigestData, entry: NotifySettings) -> dict[str, Any]:
    from bot.deliver.slack_blocks import build_digest

    message = build_digest(digest, top_gaps=entry.top_gaps)
    return {"text": message.text, "blocks": message.blocks}


def plan_notify_digests(
    session: Session, settings: Settings, digest: DigestData, *, planned: Iterable[str] = ()
) -> tuple[list[PlannedItem], list[str]]:
    """The digest rows the ``[[notify]]`` entries call for (keys already stored or ``planned`` are skipped)."""
    items: list[PlannedItem] = []
    notes: list[str] = []
    seen = set(planned)
    state = {"gaps": [gap.upstream for gap in digest.top_gaps], "given_total": digest.given_total}
    for entry in settings.notify:
        target = entry.target_key()
        key = digest_key(entry.kind, target, digest.period)
        if key in seen:
            continue
        seen.add(key)
        if not (digest.is_material() or entry.always_send):
            notes.append(f"digest {digest.period} to {entry.kind} {target}: nothing material changed; not sent")
            continue
        if store.load_row(session, key=key) is not None:
            continue
        if entry.kind == "slack":
            payload = _slack_payload(digest, entry)
        else:
            payload = RENDERERS[entry.kind](build_document(digest, key=key, top_gaps=entry.top_gaps))
        payload["state"] = state  # not sent: the next digest reads what this one said
        channel: Channel = entry.kind
        items.append(PlannedItem(key, channel, target, "digest", "post", payload, content_hash(payload), None))
    return items, notes


def notify_policy(settings: Settings, channel: str, target: str) -> RetryPolicy | None:
    """The retry policy of the ``[[notify]]`` entry for ``channel`` and ``target``, if there is one."""
    for entry in settings.notify:
        if entry.kind == channel and entry.target_key() == target:
            return RetryPolicy(entry.max_attempts, entry.retry_backoff_seconds)
    return None
