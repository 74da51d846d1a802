"""How long a decision holds: whether upkeep leaves an upstream's issue alone, and why it comes back.

A decline or a done holds ``decisions.expiry_days``; after that the upstream comes back only when
its gap grew by ``decisions.material_growth`` (a fraction) since the decision. A snooze holds
``decisions.snooze_days`` and then comes back. Fund, contribute and reopen hold nothing: the
issue stays and shows the plan. The newest decision about an upstream is the one that counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.config import DecisionSettings
from bot.decisions.interface import Decision


@dataclass(frozen=True, slots=True)
class Hold:
    held: bool
    why: str  # held: what holds it until when; not held after a holding decision: why it is back


def latest(decisions: Iterable[Decision]) -> dict[str, Decision]:
    """The newest decision per upstream (ties: the later recorded one)."""
    found: dict[str, Decision] = {}
    for decision in decisions:
        current = found.get(decision.upstream)
        if current is None or decision.decided_at >= current.decided_at:
            found[decision.upstream] = decision
    return found


def hold(decision: Decision | None, *, gap: float, now: datetime, settings: DecisionSettings) -> Hold:
    """Whether ``decision`` still keeps upkeep from opening or updating the upstream's issue at ``now``."""
    if decision is None or decision.kind not in ("decline", "done", "snooze"):
        return Hold(False, "")
    if decision.kind == "snooze":
        until = decision.decided_at + timedelta(days=settings.snooze_days)
        if now < until:
            return Hold(True, f"{decision.words()}, until {until:%Y-%m-%d}")
        return Hold(False, f"upkeep brings this back: {decision.words()}; the snooze ended on {until:%Y-%m-%d}.")
    until = decision.decided_at + timedelta(days=settings.expiry_days)
    if now < until:
        return Hold(True, f"{decision.words()}, holds until at least {until:%Y-%m-%d}")
    before = decision.gap or 0.0
    needed = before * (1 + settings.material_growth)
    if before > 0 and gap < needed:
        return Hold(True, f"{decision.words()}; the gap has not grown materially since ({gap:.1%}, needs {needed:.1%})")
    return Hold(
        False,
        f"upkeep reopens this: {decision.words()}; that decision expired on {until:%Y-%m-%d} and the gap grew "
        f"from {before:.1%} to {gap:.1%} (at least {settings.material_growth:.0%} more).",
    )
