"""Trends between two score snapshots: gaps that opened, gaps that closed, the biggest movers.

Pure: it compares two lists of scores (usually the latest two snapshots, or the last snapshot of
two quarters). A gap is *open* when the upstream is under-invested by the one definition
(:mod:`bot.gaps.under_invested`); an upstream missing from one side (no longer used, or new) counts
as having no gap there.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from bot.gaps.interface import Mover, TrendDiff
from bot.gaps.under_invested import UnderInvestment


class ScorePoint(Protocol):
    """What a trend needs of a score (:class:`GapScore` has it)."""

    @property
    def upstream(self) -> str: ...

    @property
    def gap(self) -> float: ...

    @property
    def recommended(self) -> float: ...


def diff_scores(
    before: Iterable[ScorePoint], after: Iterable[ScorePoint], *, threshold: UnderInvestment, movers: int = 10
) -> TrendDiff:
    """Compare two snapshots' scores; ties are broken by upstream key so the result is stable."""
    old = {s.upstream: s for s in before}
    new = {s.upstream: s for s in after}
    changes: list[Mover] = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        changes.append(
            Mover(
                upstream=key,
                gap_before=a.gap if a else None,
                gap_after=b.gap if b else None,
                recommended_before=a.recommended if a else None,
                recommended_after=b.recommended if b else None,
            )
        )

    def is_open(gap: float | None, recommended: float | None) -> bool:
        return gap is not None and threshold.applies(gap, recommended or 0.0)

    def was(m: Mover) -> bool:
        return is_open(m.gap_before, m.recommended_before)

    def now(m: Mover) -> bool:
        return is_open(m.gap_after, m.recommended_after)

    opened = [m for m in changes if now(m) and not was(m)]
    closed = [m for m in changes if was(m) and not now(m)]
    moved = [m for m in changes if m.change != 0]
    opened.sort(key=lambda m: (-(m.gap_after or 0.0), m.upstream))
    closed.sort(key=lambda m: (-(m.gap_before or 0.0), m.upstream))
    moved.sort(key=lambda m: (-abs(m.change), m.upstream))
    return TrendDiff(new_gaps=tuple(opened), closed_gaps=tuple(closed), movers=tuple(moved[:movers]))
