"""The headline figures of a snapshot, each computed once here for every output that shows it.

The review's summary, the Slack digest and the dashboard issue read these functions and nothing
else, so a headline cannot disagree with another output or with the table beneath it. What counts
as "under-invested" is :func:`is_under_invested`; change it here and every output follows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from bot.gaps.interface import GapScore


def is_under_invested(score: GapScore, gap_threshold: float) -> bool:
    """Whether an upstream counts as under-invested: its gap reaches ``[issues].gap_threshold``."""
    return score.gap >= gap_threshold


def under_invested(scores: Iterable[GapScore], gap_threshold: float) -> list[GapScore]:
    """The under-invested upstreams, highest priority first (the digest's gaps, the review's count)."""
    chosen = (s for s in scores if is_under_invested(s, gap_threshold))
    return sorted(chosen, key=lambda s: (-s.priority, s.upstream))


def recommended_total(scores: Sequence[GapScore]) -> float:
    """The yearly amount recommended over every scored upstream: the sum of the rows' recommended amounts."""
    return math.fsum(s.recommended for s in scores)


def given_total(scores: Sequence[GapScore]) -> float:
    """Money given over the model's window, on the yearly basis of ``recommended``."""
    return math.fsum(s.given for s in scores)
