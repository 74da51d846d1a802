"""The headline figures of a snapshot, each computed once here for every output that shows it.

The review's summary, the Slack digest and the dashboard issue read these functions and nothing
else, so a headline cannot disagree with another output or with the table beneath it. What counts
as "under-invested" is :mod:`bot.gaps.under_invested`; every count here follows it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from bot.gaps.interface import GapScore
from bot.gaps.under_invested import UnderInvestment, rank


def under_invested(scores: Iterable[GapScore], definition: UnderInvestment) -> list[GapScore]:
    """The under-invested upstreams, highest priority first, by the one definition
    (:mod:`bot.gaps.under_invested`)."""
    return rank(scores, definition, lambda score: score.recommended)


def recommended_total(scores: Sequence[GapScore]) -> float:
    """The yearly amount recommended over every scored upstream: the sum of the rows' recommended amounts."""
    return math.fsum(s.recommended for s in scores)


def given_total(scores: Sequence[GapScore]) -> float:
    """Money given over the model's window, on the yearly basis of ``recommended``."""
    return math.fsum(s.given for s in scores)
