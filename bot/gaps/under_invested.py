"""The one definition of "under-invested", shared by the review, the digest, the dashboard and the issues.

An upstream is under-invested when its gap (expected share − investment share) is above
``thresholds.gap`` *and* the yearly amount still to give is above ``thresholds.amount``
(``config/gaps.toml``). Risk is already inside the expected share and raises the priority
(``max(gap, 0) × risk``) that orders the list; it never makes an upstream that gets its fair
share under-invested. Every reader ranks with :func:`rank` and splits with :func:`split`, so the
counts in the review, the digest, the dashboard and the issues are one computation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar


class Gauged(Protocol):
    """What the definition reads of a score-like record (GapScore, an issue record, a review row)."""

    @property
    def upstream(self) -> str: ...

    @property
    def gap(self) -> float: ...

    @property
    def priority(self) -> float: ...


G = TypeVar("G", bound=Gauged)


@dataclass(frozen=True, slots=True)
class UnderInvestment:
    """The thresholds: a share of investment (0..1) and a yearly amount in the reporting currency."""

    share: float = 0.01
    amount: float = 100.0

    def applies(self, gap: float, recommended: float) -> bool:
        """A positive gap above the share threshold with more than ``amount`` still to give per year."""
        return gap > 0 and gap > self.share and recommended > 0 and recommended >= self.amount


def rank(items: Iterable[G], definition: UnderInvestment, recommended: Callable[[G], float]) -> list[G]:
    """The under-invested ``items``, highest priority first (then larger gap, then key)."""
    chosen = [item for item in items if definition.applies(item.gap, recommended(item))]
    return sorted(chosen, key=lambda item: (-item.priority, -item.gap, item.upstream))


def split(ranked: list[G], *, max_open: int, held: Iterable[str] = ()) -> tuple[list[G], list[G]]:
    """``(with an issue, listed on the dashboard only)``: the top ``max_open`` not held by a decision.

    ``held`` are upstreams a person declined, finished or snoozed: they take no issue slot and stay
    listed, so a decision never makes room by hiding a number.
    """
    blocked = set(held)
    issued: list[G] = []
    listed: list[G] = []
    for item in ranked:
        if item.upstream not in blocked and len(issued) < max_open:
            issued.append(item)
        else:
            listed.append(item)
    return issued, listed
