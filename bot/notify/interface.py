"""The notification port: a kind of place a digest goes, one adapter per kind, routed by target.

Every adapter is a :class:`bot.deliver.interface.Sink` (``deliver(item, maybe_sent) -> remote id``)
for one target, plus a pure ``render_*`` function that turns the neutral digest document into
the outbox payload. :class:`TargetRouter` is the one sink the outbox sees per kind.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from bot.deliver.interface import Channel, Delivery, DeliveryError, Sink

#: the payload key every kind's payload has: a plain-text rendering for dry runs and the demo
PREVIEW = "text"


def digest_key(kind: str, target: str, period: str) -> str:
    """One digest per kind, target and period (the Slack form: ``slack:C…:digest:2026-W48``)."""
    return f"{kind}:{target}:digest:{period}"


def short_id(key: str, length: int = 32) -> str:
    """A deterministic id derived from an outbox key (Matrix transaction id, Message-ID, card reference)."""
    return hashlib.sha256(key.encode()).hexdigest()[:length]


class TargetRouter:
    """The sink for one kind: hands each item to the adapter for its target (``fallback`` for the rest)."""

    def __init__(self, channel: Channel, sinks: Mapping[str, Sink], fallback: Sink | None = None) -> None:
        self.channel: Channel = channel
        self._sinks = dict(sinks)
        self._fallback = fallback

    def deliver(self, item: Delivery, *, maybe_sent: bool) -> str:
        sink = self._sinks.get(item.target, self._fallback)
        if sink is None:
            raise DeliveryError(f"{self.channel} {item.target}: no [[notify]] entry with credentials for this target")
        return sink.deliver(item, maybe_sent=maybe_sent)
