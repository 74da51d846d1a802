"""Outbox rules: deterministic idempotency keys, content hashes, and the retry schedule.

A digest is keyed by its period (one per channel and week, whatever its content). An issue
change is keyed by its content hash *and* the key of the change it follows for the same
subject, so "open with body B" after "close" is a new row (a reopen), while an identical rerun
computes the same key and finds the row already there. Pure functions; the store side is
:mod:`bot.store.outbox`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.deliver.interface import Action, Channel

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"
DEAD = "dead"
SUPERSEDED = "superseded"
OPEN_STATES = (PENDING, FAILED)


def content_hash(payload: Mapping[str, Any]) -> str:
    """sha256 of the payload's canonical JSON: equal content, equal hash, across runs and machines."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def digest_key(channel_id: str, period: str) -> str:
    """The key of a channel's digest for one period: at most one digest per period."""
    return f"slack:{channel_id}:digest:{period}"


def change_key(channel: Channel, target: str, subject: str, content: str, previous_key: str | None) -> str:
    """The key of a content change for ``subject`` that follows ``previous_key``."""
    chained = hashlib.sha256(f"{content}\n{previous_key or ''}".encode()).hexdigest()[:20]
    return f"{channel}:{target}:{subject}:{chained}"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how soon a failed delivery is tried again before it is reported dead."""

    max_attempts: int = 5
    base_seconds: float = 300.0
    max_seconds: float = 24 * 3600.0

    def delay(self, attempts: int) -> timedelta:
        """Exponential backoff after ``attempts`` failed attempts: base, 2×base, 4×base… up to the cap."""
        seconds = self.base_seconds * (2 ** max(0, attempts - 1))
        return timedelta(seconds=min(seconds, self.max_seconds))

    def after_failure(self, attempts: int, now: datetime, *, permanent: bool) -> tuple[str, datetime | None]:
        """The state and next attempt time after the ``attempts``-th attempt failed."""
        if permanent or attempts >= self.max_attempts:
            return DEAD, None
        return FAILED, now + self.delay(attempts)


@dataclass(frozen=True, slots=True)
class PlannedItem:
    """An outbox row to be created (or found, if its key is already there)."""

    key: str
    channel: Channel
    target: str
    subject: str
    action: Action
    payload: Mapping[str, Any]
    content_hash: str
    previous_key: str | None = None


def aware(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime (SQLite hands naive ones back)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
