"""The gaps stage: score the inputs and store the run as a snapshot, so ``upkeep score`` is one call.

The inputs (usages, investments, signals) come from the inventory, resolve and evidence stages;
this module only ties the pure model to the store.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.engine import Engine

from bot.gaps.interface import Budget, GapScore, Investment, NotScored, RiskSignals, UpstreamUsage
from bot.gaps.model import iter_gaps
from bot.gaps.weights import GapWeights
from bot.store.gaps import save_snapshot

log = logging.getLogger(__name__)


def score_from_inputs(
    engine: Engine,
    usages: Sequence[UpstreamUsage],
    investments: Sequence[Investment],
    signals: Sequence[RiskSignals],
    weights: GapWeights,
    budget: Budget,
    now: datetime,
    not_scored: Sequence[NotScored] = (),
) -> int:
    """Compute every upstream's gap and store them as one snapshot taken at ``now``; return its id.

    ``not_scored`` (upstreams left out of the model, with their reasons) is kept with the snapshot.
    """
    definition = weights.thresholds.under_investment()
    counted = {"scored": 0, "open": 0}

    def count(score: GapScore) -> None:
        counted["scored"] += 1
        counted["open"] += definition.applies(score.gap, score.recommended)

    # one score at a time, from the model to the store: the scores' terms are never all held
    snapshot_id = save_snapshot(
        engine,
        iter_gaps(usages, investments, signals, weights, budget=budget),
        weights=weights,
        budget=budget.yearly_amount,
        currency=budget.currency,
        budget_source=budget.source,
        developers=budget.developers,
        window_days=budget.window_days,
        now=now,
        not_scored=not_scored,
        seen=count,
    )
    log.info("gaps: snapshot %d scored %d upstreams, %d open gaps", snapshot_id, counted["scored"], counted["open"])
    return snapshot_id
